// The wallboard's refresh: polls /api/live with the page's own query and redraws the board
// as the server draws it, from text nodes only.
(function () {
  var board = document.getElementById('board');
  var every = Number(document.body.getAttribute('data-poll')) || 3000;
  var order = ['on_call', 'hold', 'wrap_up', 'idle', 'not_avail', 'unaccounted', 'logged_off'];
  var titles = {on_call: 'On call', hold: 'On hold', wrap_up: 'Wrap-up', idle: 'Available',
    not_avail: 'On a break', unaccounted: 'Unaccounted', logged_off: 'Logged off'};
  function clock(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    return h > 0 ? h + ':' + two(m) + ':' + two(r) : m + ':' + two(r);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function draw(b) {
    var out = document.createDocumentFragment();
    var ages = el('div', 'ages');
    b.sources.forEach(function (s) {
      if (s.age_secs === null) return;
      var a = el('span', 'age' + (s.stale ? ' stale' : ''),
        s.source + ' data ' + clock(s.age_secs) + ' old' + (s.stale ? ' — stale' : ''));
      a.setAttribute('data-source', s.source);
      ages.appendChild(a);
    });
    if (b.sources.every(function (s) { return s.data_until === null; })) {
      ages.appendChild(el('span', 'age stale', 'no data loaded yet'));
    }
    out.appendChild(ages);
    if (b.queues.length) {
      out.appendChild(el('h2', '', 'Queues'));
      var qg = el('div', 'grid');
      b.queues.forEach(function (q) {
        var t = el('div', 'tile queue');
        t.setAttribute('data-queue', q.queue);
        t.appendChild(el('b', '', q.queue));
        t.appendChild(el('span', 'big waiting', String(q.waiting)));
        t.appendChild(document.createTextNode(' waiting'));
        if (q.waiting > 0) t.appendChild(el('span', 'small', ' (longest ' + clock(q.longest_wait_secs) + ')'));
        t.appendChild(el('div', 'small', q.logged_in + ' in · ' + q.available + ' available · ' +
          q.on_call + ' on call · ' + q.paused + ' paused'));
        var d = el('div', 'small today', 'today: ');
        d.appendChild(el('span', 'offered', String(q.today.offered)));
        d.appendChild(document.createTextNode(' offered, '));
        d.appendChild(el('span', 'answered', String(q.today.answered)));
        d.appendChild(document.createTextNode(' answered, ' + q.today.abandoned + ' abandoned, SL ' +
          (q.today.service_level === null ? '—' : q.today.service_level.toFixed(2) + '%') +
          ', ASA ' + (q.today.asa_secs === null ? '—' : clock(q.today.asa_secs))));
        t.appendChild(d);
        qg.appendChild(t);
      });
      out.appendChild(qg);
    }
    order.forEach(function (st) {
      var group = b.agents.filter(function (a) { return a.state === st; });
      if (!group.length) return;
      out.appendChild(el('h2', '', titles[st] + ' (' + group.length + ')'));
      var g = el('div', 'grid');
      group.forEach(function (a) {
        var t = el('div', 'tile agent state-' + a.state);
        t.setAttribute('data-ext', a.ext);
        var link = el('a', '', a.name + ' (' + a.ext + ')');
        link.href = '/agent?ext=' + encodeURIComponent(a.ext) + '&date=' + encodeURIComponent(b.today);
        t.appendChild(link);
        t.appendChild(el('div', 'big', clock(a.secs_in_state)));
        if (a.reason) t.appendChild(el('div', 'small', a.reason));
        t.appendChild(el('div', 'small', a.today.answered + ' answered · AHT ' + clock(a.today.aht_secs) +
          ' · breaks ' + clock(a.today.break_secs)));
        g.appendChild(t);
      });
      out.appendChild(g);
    });
    if (!b.agents.length && !b.queues.length) out.appendChild(el('p', '', 'Nobody on the floor yet.'));
    board.textContent = '';
    board.appendChild(out);
    board.setAttribute('data-updated', String(b.now));
  }
  function poll() {
    fetch('/api/live' + location.search, {cache: 'no-store'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) { if (b) draw(b); })
      .catch(function () {})
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
