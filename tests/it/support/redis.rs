//! A real `redis-server` on a free loopback port for the shared budget's tests (Debian's package;
//! `.ci/run` installs it when missing). It can be killed (an outage that loses its state: no
//! persistence) and started again on the same port; dropping it kills it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting server may take to answer PING.
const START_LIMIT: Duration = Duration::from_secs(20);

pub struct Redis {
    port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

impl Redis {
    /// A server with no password.
    pub fn start() -> Redis {
        Redis::start_with(&[])
    }

    /// A server started with extra `redis-server` arguments (e.g. `--requirepass`).
    pub fn start_with(extra: &[&str]) -> Redis {
        // A port the OS just gave out and took back: free unless something grabs it meanwhile.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut redis = Redis {
            port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        redis.restart();
        redis
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// SIGKILL: the server and everything it held are gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .args(&self.extra)
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (Debian's redis-server package; .ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + START_LIMIT;
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the server answers on its port (PONG, or NOAUTH when it wants a password).
    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 64];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read(&mut reply).is_ok_and(|n| {
                reply[..n].starts_with(b"+PONG") || reply[..n].starts_with(b"-NOAUTH")
            })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
