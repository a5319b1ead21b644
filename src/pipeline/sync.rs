//! The `[sync]` steps of a run, around the chain: open the state and recover what a crashed run
//! left in the journal; give the prepare thread its filter; after the rows, merge what was
//! accepted and mirror deletes.

use std::sync::{Arc, Mutex};

use super::RunError;
use crate::config::Pipeline;
use crate::config::sync::SyncSpec;
use crate::dispatch::Spec;
use crate::dispatch::deletes;
use crate::job::checkpoint::Checkpoint;
use crate::job::report::Counters;
use crate::job::state::{State, StateError};
use crate::job::sync::{self, Deletes, FilterOptions, Seen, SyncFilter};
use crate::portal::Portal;
use crate::portal::halt::Halt;
use crate::prepare::RowFilter;

/// A run's handle on the state.
pub struct SyncRun {
    spec: SyncSpec,
    state: State,
    seen: Option<Arc<Mutex<Seen>>>,
    failure: Option<Arc<Mutex<Option<StateError>>>>,
}

impl SyncRun {
    /// Opens the pipeline's state, when it keeps one.
    pub fn open(pipeline: &Pipeline) -> Result<Option<SyncRun>, RunError> {
        let Some(spec) = &pipeline.sync else {
            return Ok(None);
        };
        Ok(Some(SyncRun {
            spec: spec.clone(),
            state: State::open(&spec.state)?,
            seen: None,
            failure: None,
        }))
    }

    pub fn state(&mut self) -> &mut State {
        &mut self.state
    }

    /// The prepare thread's filter (its own connection to the state).
    pub fn filter(
        &mut self,
        pipeline: &Pipeline,
        spec: &Spec,
        full: bool,
    ) -> Result<Box<dyn RowFilter>, RunError> {
        let reader = State::read(&self.spec.state)?;
        let filter = SyncFilter::new(
            &self.spec,
            pipeline.target.operation,
            reader,
            FilterOptions {
                full,
                can_verify: spec.verify_property.is_some(),
            },
        )?;
        self.seen = filter.seen();
        self.failure = Some(filter.failure());
        Ok(Box::new(filter))
    }

    /// After the rows: merge what was accepted into the state, then (when the whole source went
    /// through) mirror deletes.
    pub async fn finish(
        &mut self,
        pipeline: &Pipeline,
        checkpoint: &Checkpoint,
        portal: &Portal,
        counters: &Counters,
        completed: bool,
        allow_deletes: bool,
    ) -> Result<(), RunError> {
        if let Some(failure) = self.failure.take()
            && let Some(err) = failure.lock().expect("failure lock poisoned").take()
        {
            return Err(err.into());
        }
        checkpoint.merge_state(&mut self.state)?;
        let Some(seen) = self.seen.take() else {
            return Ok(());
        };
        // Deletes only after a run that read its whole source: a key missing from half a file
        // is not a deleted record.
        if !completed {
            return Ok(());
        }
        let seen = std::mem::take(&mut *seen.lock().expect("seen lock poisoned"));
        match sync::plan_deletes(&self.state, seen, &self.spec, allow_deletes)? {
            Deletes::Send(entries) => {
                let failed_file = self.spec.state.with_extension("deletes.failed.csv");
                let done = deletes::mirror_deletes(
                    portal,
                    &pipeline.target.object,
                    entries,
                    pipeline.dispatch.batch_size,
                    &mut self.state,
                    &failed_file,
                )
                .await?;
                Counters::add(&counters.deleted, done.archived);
                if done.failed > 0 {
                    tracing::warn!(
                        failed = done.failed,
                        file = %failed_file.display(),
                        "some mirrored deletes failed; the next run tries them again"
                    );
                }
            }
            Deletes::TooMany {
                count,
                limit,
                sample,
            } => {
                portal.halt().raise(Halt::Failed(format!(
                    "{count} records left the source since the last run, more than \
                     sync.max_deletes allows ({limit}); none was deleted. For example: {}. If \
                     that is right, run again with --allow-deletes",
                    sample.join(", ")
                )));
            }
            Deletes::Keyless(rows) => tracing::warn!(
                rows,
                "rows without a readable key: mirrored deletes skipped this run"
            ),
        }
        Ok(())
    }
}
