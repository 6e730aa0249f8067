//! Whether the server is a node of a MariaDB Galera cluster, and its place there (SPEC §15:
//! `status` and `/health` show it; a node that is not ready is refused at connect).

use mysql::Conn;
use mysql::prelude::Queryable;

use crate::model::ClusterState;

/// `wsrep_on` tells a Galera node (a MariaDB without the provider says OFF; MySQL has no
/// such variable, so no row); its status variables tell its state. Both are answered by a
/// node outside the primary component too, which refuses every other query.
pub(super) fn read(conn: &mut Conn) -> mysql::Result<Option<ClusterState>> {
    let on: Option<(String, String)> = conn.query_first("SHOW VARIABLES LIKE 'wsrep_on'")?;
    if !on.is_some_and(|(_, v)| v.eq_ignore_ascii_case("ON")) {
        return Ok(None);
    }
    let vars: Vec<(String, String)> = conn.query(
        "SHOW STATUS WHERE Variable_name IN \
         ('wsrep_ready', 'wsrep_cluster_size', 'wsrep_local_state_comment')",
    )?;
    Ok(Some(state_of(&vars)))
}

/// The state the status variables `vars` describe.
fn state_of(vars: &[(String, String)]) -> ClusterState {
    let get = |name: &str| {
        vars.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    ClusterState {
        ready: get("wsrep_ready").eq_ignore_ascii_case("ON"),
        size: get("wsrep_cluster_size").parse().unwrap_or(0),
        state: get("wsrep_local_state_comment").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_state_reads_from_its_status_variables() {
        let vars = |ready: &str, size: &str| {
            vec![
                ("wsrep_ready".to_string(), ready.to_string()),
                ("WSREP_CLUSTER_SIZE".to_string(), size.to_string()),
                (
                    "wsrep_local_state_comment".to_string(),
                    "Synced".to_string(),
                ),
            ]
        };
        let s = state_of(&vars("ON", "3"));
        assert_eq!(
            s,
            ClusterState {
                ready: true,
                size: 3,
                state: "Synced".into()
            }
        );
        assert!(!state_of(&vars("OFF", "1")).ready);
        assert_eq!(state_of(&[]).size, 0);
    }
}
