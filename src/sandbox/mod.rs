//! The local HubSpot-compatible sandbox (placeholder until the sandbox lands).

use std::net::SocketAddr;

/// Flags of `etl sandbox`.
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
}

/// Serves the sandbox until Ctrl-C.
pub async fn serve(args: SandboxArgs) -> std::io::Result<()> {
    let _ = args;
    Ok(())
}
