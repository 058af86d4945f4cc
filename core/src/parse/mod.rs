//! Pure parsers, one module per file kind of `formats.md` section 2. Text or bytes in, a value
//! or a typed [`crate::error::ParseError`] out; none of them panics on any input.

pub mod alert;
pub mod bench_serving;
pub mod cron;
pub mod gsm8k;
pub mod offline;
pub mod online_csv;
pub mod pd;
pub mod plots_log;
pub mod sanity;
pub mod server_log;
pub mod timing;
pub mod trace;
pub mod unit_test;
pub mod upstream;
