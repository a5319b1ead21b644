//! `etl sandbox`: serve the local HubSpot-compatible API until Ctrl-C or SIGTERM.

use super::{Exit, fatal};
use crate::sandbox::{self, SandboxArgs};

pub async fn execute(args: SandboxArgs) -> Exit {
    match sandbox::serve(args).await {
        Ok(()) => Exit::Success,
        Err(err) => fatal(&err),
    }
}
