//! Helpers shared by integration tests. Each test binary includes this with `mod support;`
//! and uses only part of it, hence the dead-code allowance.
#![allow(dead_code)]

pub mod backends;
pub mod chaos;
pub mod cron;
pub mod fake_platform;
pub mod files;
pub mod galera;
pub mod hostile;
pub mod mariadb;
pub mod mount;
pub mod mysql;
pub mod pg_server;
pub mod postgres;
pub mod refused;
pub mod rows;
pub mod serve_once;
pub mod server;
pub mod smtp;
pub mod unended;
