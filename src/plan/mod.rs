//! Migration plans: `etl run migration.toml` ensures the plan's properties, then runs its stages in
//! order — a stage with `parallel = true` alongside the one before it — in one session: one target
//! (one embedded sandbox for every stage), one stop switch, one rate budget shared by every stage.
//!
//! Each stage keeps its own journal; the plan's journal (`journal`) says which stages of this run
//! started and finished, so `--resume` continues at the stage that stopped. A stage that stops early
//! (daily limit, interrupt, a fatal error) stops the plan; one that finishes with dead letters does
//! not (a few broken links do not hold up the rest of a migration). `report` builds the plan's
//! report.
//!
//! Parts: `journal` (the stages of the current run), `report` (sections and totals).

pub mod journal;
pub mod report;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use crate::config::plan::Plan;
use crate::config::{Connection, Pipeline};
use crate::job::checkpoint::lock_path;
use crate::job::lock::{LockError, RunLock};
use crate::pipeline::{self, RunError, RunOptions, RunOutcome, Session};
use crate::portal::properties::{self, PropertyError};
use crate::portal::target::{Target, TargetError};
use journal::{PlanJournal, PlanJournalError, StageStatus};
use report::{PlanOutcome, PropertyResult, StageEnd, StageResult};

/// A plan that cannot run (before any stage starts).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("another `etl run` of this plan is running: {0}")]
    Lock(#[from] LockError),
    #[error(transparent)]
    Journal(#[from] PlanJournalError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("the properties step stopped the plan (no stage ran): {0}")]
    Property(#[from] PropertyError),
}

/// Runs `plan`: the properties step, then every stage. `options` apply to every stage; `--resume`
/// and `--restart` apply to the plan (each stage resumes, starts over or starts as its place in
/// the plan's run says).
pub async fn run(plan: &Plan, options: &RunOptions) -> Result<PlanOutcome, PlanError> {
    let started = Instant::now();
    let _lock = RunLock::acquire(&lock_path(&plan.progress))?;
    let files: Vec<PathBuf> = plan
        .stages
        .iter()
        .map(|s| s.pipeline.file.clone())
        .collect();
    let mut journal = if options.resume {
        PlanJournal::resume(&plan.progress, &files)?
    } else {
        PlanJournal::start(&plan.progress, &files)?
    };
    let connection = connection(plan);
    let target = Target::connect(&connection, options.token.as_ref()).await?;
    let (session, signals) = match Session::open(&target, &connection) {
        Ok(session) => session,
        Err(err) => {
            target.close().await;
            return Err(err.into());
        }
    };
    let result = match ensure_properties(plan, &session).await {
        Ok(properties) => {
            let stages = run_stages(plan, options, &session, &mut journal).await;
            stages.map(|stages| PlanOutcome {
                plan: plan.file.clone(),
                properties,
                stages,
                elapsed: started.elapsed(),
            })
        }
        Err(err) => Err(err),
    };
    signals.abort();
    target.close().await;
    result
}

/// The connection of the whole plan: the first stage's portal, with a window no stage's promise
/// is broken by (the fewest requests per the longest interval of the stages).
fn connection(plan: &Plan) -> Connection {
    let mut connection = plan.stages[0].pipeline.connection();
    let dispatch = &mut connection.dispatch;
    for stage in &plan.stages[1..] {
        let other = &stage.pipeline.dispatch;
        dispatch.requests_per_interval = dispatch
            .requests_per_interval
            .min(other.requests_per_interval);
        dispatch.association_requests_per_interval = dispatch
            .association_requests_per_interval
            .min(other.association_requests_per_interval);
        dispatch.interval = dispatch.interval.max(other.interval);
    }
    connection
}

/// The properties step: each `[[properties]]` read, and created when missing.
async fn ensure_properties(
    plan: &Plan,
    session: &Session<'_>,
) -> Result<Vec<PropertyResult>, PlanError> {
    if plan.properties.is_empty() {
        return Ok(Vec::new());
    }
    let first = plan.stages[0].pipeline.connection();
    let portal =
        session
            .target
            .portal_in(&first, Arc::clone(&session.halt), session.budget.clone())?;
    let mut done = Vec::with_capacity(plan.properties.len());
    for spec in &plan.properties {
        let ensured = properties::ensure(&portal, spec).await?;
        done.push(PropertyResult {
            object: spec.object.clone(),
            name: spec.name.clone(),
            ensured,
        });
    }
    Ok(done)
}

/// One stage's run, driven alongside the others of its group.
type StageRun<'a> = Pin<Box<dyn Future<Output = Result<RunOutcome, RunError>> + 'a>>;

/// Runs the stages group by group; after a group in which a stage stopped early, the rest are not
/// run.
async fn run_stages(
    plan: &Plan,
    options: &RunOptions,
    session: &Session<'_>,
    journal: &mut PlanJournal,
) -> Result<Vec<StageResult>, PlanError> {
    let mut results: Vec<Option<StageEnd>> = (0..plan.stages.len()).map(|_| None).collect();
    let mut stopped = false;
    for group in plan.groups() {
        if stopped {
            break;
        }
        let mut runs: Vec<StageRun<'_>> = Vec::with_capacity(group.len());
        for &index in &group {
            let status = journal.status(index);
            if status == StageStatus::NotStarted {
                journal.set(index, StageStatus::Started)?;
            }
            let mut stage_options = stage_options(options, status);
            // Stages running together would draw over each other's progress lines.
            stage_options.quiet |= group.len() > 1;
            let pipeline: &Pipeline = &plan.stages[index].pipeline;
            runs.push(Box::pin(async move {
                pipeline::run_in(pipeline, &stage_options, session).await
            }));
        }
        for (index, result) in group.iter().zip(all(runs).await) {
            let end = match result {
                Ok(outcome) => {
                    let finished = outcome.halt.is_none() && outcome.report.error.is_none();
                    if finished {
                        journal.set(*index, StageStatus::Completed)?;
                    } else {
                        stopped = true;
                    }
                    StageEnd::Ran(Box::new(outcome))
                }
                Err(err) => {
                    stopped = true;
                    StageEnd::Failed(err.to_string())
                }
            };
            results[*index] = Some(end);
        }
    }
    Ok(plan
        .stages
        .iter()
        .zip(results)
        .map(|(stage, end)| StageResult {
            pipeline: stage.pipeline.file.clone(),
            end: end.unwrap_or(StageEnd::NotRun),
        })
        .collect())
}

/// How a stage starts, from the plan's flags and the stage's place in the plan's run.
fn stage_options(options: &RunOptions, status: StageStatus) -> RunOptions {
    let mut stage = options.clone();
    if options.restart {
        return stage;
    }
    // `--resume` continues the stages this run of the plan started (a finished one reports what
    // it did); a stage this run has not reached starts as a new job, never from a journal some
    // other run left.
    stage.resume = options.resume && status != StageStatus::NotStarted;
    stage
}

/// Drives `futures` together on this task, and gives their outputs in order.
async fn all<'a, T>(mut futures: Vec<Pin<Box<dyn Future<Output = T> + 'a>>>) -> Vec<T> {
    let mut outputs: Vec<Option<T>> = (0..futures.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_some() {
                continue;
            }
            match future.as_mut().poll(cx) {
                Poll::Ready(value) => *output = Some(value),
                Poll::Pending => pending = true,
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_resume_only_what_this_run_of_the_plan_started() {
        let resume = RunOptions {
            resume: true,
            ..RunOptions::default()
        };
        assert!(stage_options(&resume, StageStatus::Started).resume);
        assert!(stage_options(&resume, StageStatus::Completed).resume);
        assert!(!stage_options(&resume, StageStatus::NotStarted).resume);
        let restart = RunOptions {
            restart: true,
            ..RunOptions::default()
        };
        assert!(stage_options(&restart, StageStatus::Started).restart);
        assert!(!stage_options(&RunOptions::default(), StageStatus::Started).resume);
    }

    #[tokio::test]
    async fn all_drives_futures_together_and_keeps_their_order() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        // The first waits for the second: run one after the other, they would never end.
        let first: Pin<Box<dyn Future<Output = u32>>> =
            Box::pin(async move { rx.await.unwrap() + 1 });
        let second: Pin<Box<dyn Future<Output = u32>>> = Box::pin(async move {
            tx.send(41).unwrap();
            7
        });
        assert_eq!(all(vec![first, second]).await, [42, 7]);
    }
}
