//! A local S3-compatible server for the object-storage sources: `moto_server` (PyPI's `moto[server]`,
//! installed by `.ci/run` into a venv; `ETL_MOTO_SERVER` names its program) on a free loopback port,
//! with a bucket, objects put over plain HTTP, and the environment an `etl` run needs to reach it.
//! Where moto is not installed the tests say so loudly and pass, unless `ETL_REQUIRE_MOTO` is set
//! (`.ci/run` sets it, so CI always runs them).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};

const START_LIMIT: Duration = Duration::from_secs(60);

/// A running `moto_server`, stopped when dropped.
pub struct S3 {
    child: Child,
    base: String,
    runtime: tokio::runtime::Runtime,
}

/// Where `moto_server` is: `ETL_MOTO_SERVER`, else the venv `.ci/run` makes, else the `PATH`.
fn program() -> String {
    if let Ok(program) = std::env::var("ETL_MOTO_SERVER") {
        return program;
    }
    let venv = std::env::var("HOME")
        .map(|home| format!("{home}/.cache/etl-moto/bin/moto_server"))
        .unwrap_or_default();
    if std::path::Path::new(&venv).exists() {
        return venv;
    }
    "moto_server".into()
}

impl S3 {
    /// A server with one empty bucket, `bucket`; `None` (after a loud message) when moto is not
    /// installed and `ETL_REQUIRE_MOTO` is unset.
    pub fn start() -> Option<S3> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let spawned = Command::new(program())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(err)
                if err.kind() == std::io::ErrorKind::NotFound
                    && std::env::var_os("ETL_REQUIRE_MOTO").is_none() =>
            {
                eprintln!(
                    "\n*** SKIPPED: moto_server is not installed, so the object-storage test did not run.\n\
                     *** Install it (pip install 'moto[server]', or run .ci/run) or set ETL_REQUIRE_MOTO=1 to fail instead.\n"
                );
                return None;
            }
            Err(err) => panic!(
                "moto_server does not start ({err}); pip install 'moto[server]' (.ci/run installs it)"
            ),
        };
        let deadline = Instant::now() + START_LIMIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        let s3 = S3 {
            child,
            base: format!("http://127.0.0.1:{port}"),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
        };
        s3.create_bucket();
        Some(s3)
    }

    /// Puts `bytes` at `key` in the bucket (a signed request, as a client of S3 sends; moto refuses
    /// anonymous overwrites) and returns the object's `s3://` URL.
    pub fn put(&self, key: &str, bytes: impl Into<Vec<u8>>) -> String {
        let store = AmazonS3Builder::new()
            .with_endpoint(&self.base)
            .with_allow_http(true)
            .with_bucket_name("bucket")
            .with_region("us-east-1")
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .build()
            .expect("an S3 client");
        let payload = PutPayload::from(bytes.into());
        self.runtime
            .block_on(store.put(&ObjectPath::from(key), payload))
            .expect("the object is stored");
        format!("s3://bucket/{key}")
    }

    fn create_bucket(&self) {
        let url = format!("{}/bucket", self.base);
        let status = self.runtime.block_on(async {
            super::sandbox::http()
                .put(&url)
                .send()
                .await
                .expect("moto answers")
                .status()
        });
        assert!(status.is_success(), "{url}: {status}");
    }

    /// The environment of a run that reads from this server (no real credentials anywhere).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", self.base.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
