-- apr schema. Its version is SCHEMA_VERSION in src/store/mod.rs; older databases are upgraded
-- step by step (src/store/contract.rs).
-- Written once in the subset that SQLite and MySQL/MariaDB both accept. The only dialect
-- bits are MySQL executable comments (/*! ... */), which MySQL runs and SQLite skips as
-- comments: AUTO_INCREMENT on surrogate keys and a binary (case- and accent-exact)
-- collation, so that both backends see the same unique keys. utf8mb4_bin still ignores
-- trailing spaces ('a' = 'a '), so the MySQL backend swaps it on open for the server's NO PAD
-- binary collation (MariaDB utf8mb4_nopad_bin, MySQL 8 utf8mb4_0900_bin) when there is one.
-- SQLite alone reads what a `/*sqlite ...*/` comment holds (its backend swaps the comment's
-- text in; MySQL skips it). `/*sqlite WITHOUT ROWID*/` after a table makes it a table keyed
-- by its primary key alone, one B-tree instead of a rowid table plus a key index; InnoDB
-- tables are stored that way already.
-- Secondary indexes are declared as UNIQUE constraints that end in the primary key, the one
-- form of index both dialects accept inside CREATE TABLE ... IF NOT EXISTS.
-- Applied on every start; statements are separated by ';' at the end of a line.

CREATE TABLE IF NOT EXISTS apr_meta (
  meta_key VARCHAR(64) NOT NULL PRIMARY KEY,
  meta_value VARCHAR(255) NOT NULL
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;

-- Raw timeline. id is the load order; the natural key makes a repeated load a no-op. The
-- key starts with ts_epoch because events arrive in time order: new keys append to the
-- index instead of touching one page per agent (4-5x faster bulk loads).
-- Aggregation reads a range of hours in (ts_epoch, id) order. InnoDB stores the rows in
-- that order (primary key (ts_epoch, id); AUTO_INCREMENT needs the key on id), so the read
-- is one scan of the rows, where a secondary (ts_epoch, id) index cost a lookup per event
-- and MariaDB chose a full scan and a sort instead (schema 5). SQLite keeps id as its rowid
-- and (ts_epoch, id) as an index: its reads already meet their target.
CREATE TABLE IF NOT EXISTS agent_events (
  id INTEGER /*!40101 UNSIGNED NOT NULL AUTO_INCREMENT */ /*sqlite PRIMARY KEY*/,
  ext VARCHAR(64) NOT NULL,
  ts_epoch BIGINT NOT NULL,
  event VARCHAR(64) NOT NULL,
  enabled SMALLINT NOT NULL,
  state VARCHAR(128) NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  username VARCHAR(255) NOT NULL,
  source VARCHAR(16) NOT NULL,
  loaded_at BIGINT NOT NULL,
  /*!40101 PRIMARY KEY (ts_epoch, id), CONSTRAINT agent_events_id UNIQUE (id), */
  /*sqlite CONSTRAINT agent_events_ts UNIQUE (ts_epoch, id), */
  CONSTRAINT agent_events_natural UNIQUE (ts_epoch, ext, event, enabled, state)
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;


-- Call statistics per extension and local hour; replaced whole on re-fetch of an hour.
CREATE TABLE IF NOT EXISTS users_calls (
  ext VARCHAR(64) NOT NULL,
  hour_start BIGINT NOT NULL,
  name VARCHAR(255) NOT NULL,
  tags TEXT NOT NULL,
  total_calls BIGINT NOT NULL,
  answered_calls BIGINT NOT NULL,
  talked_time BIGINT NOT NULL,
  talked_average BIGINT NOT NULL,
  duration_seconds BIGINT NOT NULL,
  max_connect_seconds BIGINT NOT NULL,
  avg_connect_seconds BIGINT NOT NULL,
  total_connect_seconds BIGINT NOT NULL,
  callee_id_number VARCHAR(255) NOT NULL,
  callee_id_name VARCHAR(255) NOT NULL,
  registered_time BIGINT NOT NULL,
  idle_time BIGINT NOT NULL,
  wrap_up_time BIGINT NOT NULL,
  hold_time BIGINT NOT NULL,
  on_call_time BIGINT NOT NULL,
  on_call_time_avg BIGINT NOT NULL,
  not_available_time BIGINT NOT NULL,
  not_available_detailed_report TEXT NOT NULL,
  source VARCHAR(16) NOT NULL,
  fetched_at BIGINT NOT NULL,
  PRIMARY KEY (ext, hour_start),
  CONSTRAINT users_calls_hour UNIQUE (hour_start, ext)
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;


-- Canonical names: the latest non-empty name seen in stats and in events, with when.
CREATE TABLE IF NOT EXISTS agents (
  ext VARCHAR(64) NOT NULL PRIMARY KEY,
  stats_name VARCHAR(255) NOT NULL,
  stats_name_at BIGINT NOT NULL,
  event_name VARCHAR(255) NOT NULL,
  event_name_at BIGINT NOT NULL
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;

-- Hourly summary, one row per agent and local hour (SPEC §5).
-- event_details is MEDIUMTEXT because MySQL's TEXT stops at 64 KiB (SQLite reads both as TEXT).
-- Aggregation writes and re-reads a range of hours at a time, and reports read ranges of
-- hours: InnoDB stores the rows in (report_hour, agent_ext) order, so a batch's rows go to
-- the end of the table and are read back in one scan, with one secondary index (schema 5).
-- SQLite keeps its rowid table keyed by (agent_ext, report_hour) with both hour indexes.
CREATE TABLE IF NOT EXISTS agent_activity (
  agent_ext VARCHAR(64) NOT NULL,
  report_hour BIGINT NOT NULL,
  report_hour_local VARCHAR(16) NOT NULL,
  agent_name VARCHAR(255) NOT NULL,
  available_secs BIGINT NOT NULL,
  idle_secs BIGINT NOT NULL,
  talk_secs BIGINT NOT NULL,
  wrap_up_secs BIGINT NOT NULL,
  hold_secs BIGINT NOT NULL,
  productive_secs BIGINT NOT NULL,
  meeting_secs BIGINT NOT NULL,
  training_secs BIGINT NOT NULL,
  chat_secs BIGINT NOT NULL,
  tickets_secs BIGINT NOT NULL,
  outbound_secs BIGINT NOT NULL,
  non_productive_secs BIGINT NOT NULL,
  lunch_secs BIGINT NOT NULL,
  tea_secs BIGINT NOT NULL,
  bio_secs BIGINT NOT NULL,
  short_secs BIGINT NOT NULL,
  other_secs BIGINT NOT NULL,
  login_secs BIGINT NOT NULL,
  logoff_secs BIGINT NOT NULL,
  dnd_secs BIGINT NOT NULL,
  unaccounted_secs BIGINT NOT NULL,
  idle_count BIGINT NOT NULL,
  notavail_count BIGINT NOT NULL,
  total_calls BIGINT NOT NULL,
  answered_calls BIGINT NOT NULL,
  failed_calls BIGINT NOT NULL,
  covered_secs BIGINT NOT NULL,
  complete SMALLINT NOT NULL,
  event_details MEDIUMTEXT NOT NULL,
  /*!40101 PRIMARY KEY (report_hour, agent_ext), */
  /*sqlite PRIMARY KEY (agent_ext, report_hour), CONSTRAINT agent_activity_hour UNIQUE (report_hour, agent_ext), */
  CONSTRAINT agent_activity_local UNIQUE (report_hour_local, report_hour, agent_ext)
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;


-- The floor now (SPEC §13): each agent's effective state at its source's data-until instant
-- and since when, rewritten whole by every aggregation that reaches the hour in progress, so
-- that `serve` reads the live page's agents instead of replaying their events (schema 6).
CREATE TABLE IF NOT EXISTS agent_live (
  agent_ext VARCHAR(64) NOT NULL PRIMARY KEY,
  agent_name VARCHAR(255) NOT NULL,
  source VARCHAR(16) NOT NULL,
  state VARCHAR(16) NOT NULL,
  reason VARCHAR(128) NOT NULL,
  since BIGINT NOT NULL,
  as_of BIGINT NOT NULL,
  day_start BIGINT NOT NULL,
  answered_calls BIGINT NOT NULL,
  talk_secs BIGINT NOT NULL,
  hold_secs BIGINT NOT NULL,
  wrap_up_secs BIGINT NOT NULL,
  break_secs BIGINT NOT NULL,
  dnd_secs BIGINT NOT NULL
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;

-- Watermarks and cursors: collect.events_until, data_until, aggregate.dirty_*, queue_log cursors.
CREATE TABLE IF NOT EXISTS etl_state (
  state_key VARCHAR(255) NOT NULL PRIMARY KEY,
  state_value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;

-- The platform's access token, cached between cron runs.
CREATE TABLE IF NOT EXISTS api_token (
  id INTEGER NOT NULL PRIMARY KEY,
  access_token TEXT NOT NULL,
  refresh_token TEXT NOT NULL,
  expires_at BIGINT NOT NULL
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;

-- queue_log (SPEC §6). Raw lines under Asterisk's realtime column names; `time` is epoch
-- seconds and the key (time, line_hash) makes re-reading a line a no-op. The key is the
-- table itself (no surrogate id: nothing reads one), so a line costs one B-tree insert.
CREATE TABLE IF NOT EXISTS queue_log (
  time BIGINT NOT NULL,
  line_hash BIGINT NOT NULL,
  callid VARCHAR(128) NOT NULL,
  queuename VARCHAR(128) NOT NULL,
  agent VARCHAR(255) NOT NULL,
  event VARCHAR(64) NOT NULL,
  data1 TEXT NOT NULL,
  data2 TEXT NOT NULL,
  data3 TEXT NOT NULL,
  data4 TEXT NOT NULL,
  data5 TEXT NOT NULL,
  loaded_at BIGINT NOT NULL,
  PRIMARY KEY (time, line_hash)
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */ /*sqlite WITHOUT ROWID*/;

-- One row per call and queue stint, derived from queue_log; outcome as in SPEC §6.
-- Null wait/talk/end/position: unknown.
CREATE TABLE IF NOT EXISTS queue_calls (
  callid VARCHAR(128) NOT NULL,
  queuename VARCHAR(128) NOT NULL,
  enter_time BIGINT NOT NULL,
  enter_hour BIGINT NOT NULL,
  enter_hour_local VARCHAR(16) NOT NULL,
  caller_number VARCHAR(128) NOT NULL,
  caller_name VARCHAR(255) NOT NULL,
  entry_position BIGINT NULL,
  outcome VARCHAR(16) NOT NULL,
  agent VARCHAR(64) NOT NULL,
  wait_secs BIGINT NULL,
  talk_secs BIGINT NULL,
  ring_attempts BIGINT NOT NULL,
  end_time BIGINT NULL,
  PRIMARY KEY (callid, queuename, enter_time),
  CONSTRAINT queue_calls_hour UNIQUE (enter_hour_local, queuename, callid, enter_time)
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */ /*sqlite WITHOUT ROWID*/;

-- queue_log lines that could not be parsed, with where they were and why.
CREATE TABLE IF NOT EXISTS queue_log_rejects (
  file VARCHAR(255) NOT NULL,
  line_no BIGINT NOT NULL,
  line_hash BIGINT NOT NULL,
  reason VARCHAR(255) NOT NULL,
  line TEXT NOT NULL,
  loaded_at BIGINT NOT NULL,
  PRIMARY KEY (file, line_no, line_hash)
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;

-- The queue_log derivation's carry-over between chunks and runs (open calls, agents'
-- memberships and pauses) as JSON; it outgrows etl_state's TEXT (64 KB on MySQL).
CREATE TABLE IF NOT EXISTS queue_log_state (
  state_key VARCHAR(64) NOT NULL PRIMARY KEY,
  state_value LONGTEXT NOT NULL,
  updated_at BIGINT NOT NULL
) /*!40101 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;
