//! Where a run's requests go, and with which token: the portal the pipeline names, or the
//! embedded sandbox started in this process with the pipeline's own limits (the one place that
//! starts it, for every command).

use std::sync::Arc;

use super::Portal;
use super::budget::BudgetError;
use super::client::{Client, ClientError};
use super::gate::Budget;
use super::halt::HaltFlag;
use super::paths::Paths;
use crate::config::secret::Secret;
use crate::config::{BaseUrl, ConfigError, Connection};
use crate::sandbox::{self, SandboxConfig, SandboxHandle};

/// The target could not be reached or set up.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "no API token: the environment variable {var} is not set. Set it to your private app's \
         access token (export {var}=pat-…){}; base_url = \"sandbox\" needs no token",
        token_env_note(var)
    )]
    MissingToken { var: String },
    #[error("cannot start the embedded sandbox: {0}")]
    Sandbox(std::io::Error),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Budget(#[from] BudgetError),
}

/// Where the token's variable comes from, for messages.
fn token_env_note(var: &str) -> &'static str {
    if var == DEFAULT_TOKEN_ENV {
        ", or name another variable with target.token_env in the pipeline file"
    } else {
        " (the pipeline names it in target.token_env)"
    }
}

/// The variable the token is read from when the pipeline names none.
const DEFAULT_TOKEN_ENV: &str = "HUBSPOT_TOKEN";

/// What to say when the portal refuses the token read from `var` (401 or 403), with what to do.
pub fn refused_token(var: &str, status: u16, message: &str) -> String {
    let fix = if status == 403 {
        "the private app lacks a scope this job needs: add the CRM scopes of the object type \
         (read and write) in the app's settings"
    } else {
        "it is not a valid access token for this portal: copy the private app's access token \
         again"
    };
    format!("HubSpot refused the token in {var} ({status}: {message}); {fix}")
}

/// A connected target: its base URL, the token, and the embedded sandbox when there is one.
pub struct Target {
    base_url: String,
    token: Secret,
    sandbox: Option<SandboxHandle>,
}

impl Target {
    /// Connects to `connection`'s `base_url`. The token is `explicit` when given (programs that
    /// embed the engine), else the environment variable the connection names.
    pub async fn connect(
        connection: &Connection,
        explicit: Option<&Secret>,
    ) -> Result<Target, TargetError> {
        let token = match explicit {
            Some(token) => Some(token.clone()),
            None => connection.token()?,
        };
        match &connection.base_url {
            BaseUrl::Url(url) => Ok(Target {
                base_url: url.clone(),
                token: token.ok_or_else(|| TargetError::MissingToken {
                    var: connection.token_env.clone(),
                })?,
                sandbox: None,
            }),
            BaseUrl::Sandbox => {
                // The embedded sandbox plays a portal with the pipeline's own limits, so a
                // rehearsal paces itself exactly as the real run will. It needs no real token.
                let token = token.unwrap_or_else(|| Secret::new("sandbox-local-token"));
                let config = SandboxConfig {
                    token: Some(token.expose().to_string()),
                    requests_per_interval: connection.dispatch.requests_per_interval.get(),
                    association_requests_per_interval: connection
                        .dispatch
                        .association_requests_per_interval
                        .get(),
                    interval: connection.dispatch.interval,
                    ..SandboxConfig::default()
                };
                let handle = sandbox::start(config).await.map_err(TargetError::Sandbox)?;
                Ok(Target {
                    base_url: handle.base_url(),
                    token,
                    sandbox: Some(handle),
                })
            }
        }
    }

    /// The portal of this target for one run: a client, a budget at the connection's limits,
    /// the paths of the connection's API version and the run's stop switch.
    pub fn portal(
        &self,
        connection: &Connection,
        halt: Arc<HaltFlag>,
    ) -> Result<Portal, TargetError> {
        let budget = self.budget(connection)?;
        self.portal_in(connection, halt, budget)
    }

    /// The rate budget of `connection` on this target: paced in this process, or drawn from the
    /// budget it shares with other processes through Redis (`[dispatch] shared_budget`).
    pub fn budget(&self, connection: &Connection) -> Result<Budget, TargetError> {
        Ok(match connection.shared_budget()? {
            Some(spec) => Budget::shared(&connection.dispatch, &spec, &self.base_url, &self.token)?,
            None => Budget::new(&connection.dispatch),
        })
    }

    /// [`Target::portal`] drawing on `budget`, which others share (the stages of a plan): one
    /// window, whoever sends.
    pub fn portal_in(
        &self,
        connection: &Connection,
        halt: Arc<HaltFlag>,
        budget: Budget,
    ) -> Result<Portal, TargetError> {
        let dispatch = &connection.dispatch;
        let client = Client::new(&self.base_url, &self.token, dispatch.request_timeout)?;
        let paths = Paths::new(connection.api_version);
        Ok(Portal::new(
            client,
            paths,
            budget,
            halt,
            dispatch.max_retries,
        ))
    }

    /// Stops the embedded sandbox, if any.
    pub async fn close(self) {
        if let Some(handle) = self.sandbox {
            handle.shutdown().await;
        }
    }
}
