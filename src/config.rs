//! (temporary stand-in until the pipeline-file work lands: only what the dispatcher names)

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Upsert,
    Archive,
}

impl Operation {
    pub fn path_segment(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
            Operation::Archive => "archive",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Dispatch {
    pub requests_per_interval: NonZeroU32,
    pub interval: Duration,
    pub concurrency: NonZeroUsize,
    pub batch_size: usize,
    pub max_retries: u32,
    pub request_timeout: Duration,
}
