//! What a job leaves behind, and what lets it resume: the records of every row's fate.
//!
//! Parts:
//! - `dead_letter`: the dead-letter file (rejected rows with their original columns and reason);
//! - `journal`: the checkpoint journal (SQLite: accepted rows, rows being sent, totals);
//! - `checkpoint`: one run's handle on the journal, with the run lock and the rows in doubt;
//! - `lock`: one run of a job at a time;
//! - `row_set`: a compact set of row numbers;
//! - `outcome`: the fate of rows and the writer that records it;
//! - `resume`: what earlier runs of a resumed job finished;
//! - `state`: the `[sync]` state (per key: the values' hash, the record id), across jobs;
//! - `sync`: what a sync run sends (the filter), which keys its source holds, what it deletes;
//! - `report`: the counters, the JSON report and why the run stopped;
//! - `estimate`: the requests a job takes, how long at its windows, its share of the daily budget;
//! - `progress`: the progress display.

pub mod checkpoint;
pub mod dead_letter;
pub mod estimate;
pub mod journal;
pub mod lock;
pub mod outcome;
pub mod progress;
pub mod report;
pub mod resume;
pub mod row_set;
pub mod state;
pub mod sync;
