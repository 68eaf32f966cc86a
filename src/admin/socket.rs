//! The socket itself: binding it privately, checking who connects, and the CLI's side.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use super::{perform, Mode, Operation};
use crate::app::App;
use crate::rpc::RpcError;

/// Longest request line accepted.
const MAX_LINE: u64 = 1 << 20;

/// `<data_dir>/admin.sock`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

/// A bound admin socket, removed from disk when dropped.
pub struct Listener {
    listener: UnixListener,
    path: PathBuf,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the socket at `path` with mode 0600 and no window in which it is more open: it is
/// created inside a fresh 0700 directory, tightened, then moved into place. A socket file
/// left by a crashed server is replaced (the caller holds the database lock, so no other
/// server uses this data dir).
pub fn bind(path: &Path) -> std::io::Result<Listener> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let private = dir.join(format!(".admin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let staged = private.join("admin.sock");
    let result = (|| {
        let listener = UnixListener::bind(&staged)?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::rename(&staged, path)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_dir_all(&private);
    Ok(Listener {
        listener: result?,
        path: path.to_path_buf(),
    })
}

/// Answers admin connections until `stop` turns true.
pub async fn serve(app: App, listener: Listener, mut stop: watch::Receiver<bool>) {
    let own_uid = unsafe { libc::geteuid() };
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let app = app.clone();
                    tokio::spawn(async move {
                        if let Err(e) = session(app, stream, own_uid).await {
                            tracing::debug!(error = %e, "admin socket connection ended");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
}

/// One answer on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    #[serde(default)]
    pub reply: Value,
    /// `RpcError::body()` plus `status` (the HTTP status the error would have).
    #[serde(default)]
    pub error: Value,
}

impl Answer {
    fn from_result(r: Result<Value, RpcError>) -> Answer {
        match r {
            Ok(reply) => Answer {
                ok: true,
                reply,
                error: Value::Null,
            },
            Err(e) => {
                let mut error = e.body();
                error["status"] = e.http_status().into();
                Answer {
                    ok: false,
                    reply: Value::Null,
                    error,
                }
            }
        }
    }

    /// The reply, or the error's message.
    pub fn into_result(self) -> Result<Value, String> {
        if self.ok {
            Ok(self.reply)
        } else {
            Err(self.error["message"]
                .as_str()
                .unwrap_or("the server refused the operation")
                .to_string())
        }
    }
}

async fn session(app: App, stream: UnixStream, own_uid: u32) -> std::io::Result<()> {
    let peer = stream.peer_cred()?;
    let (read, mut write) = stream.into_split();
    if peer.uid() != own_uid && peer.uid() != 0 {
        tracing::warn!(
            uid = peer.uid(),
            "admin socket: refused a peer running as another user"
        );
        let refusal = Answer::from_result(Err(RpcError::PermissionDenied(format!(
            "the admin socket answers only uid {own_uid} (the server's user) and root"
        ))));
        write
            .write_all(format!("{}\n", serde_json::to_string(&refusal)?).as_bytes())
            .await?;
        return Ok(());
    }
    let mut lines = tokio::io::BufReader::new(read);
    loop {
        let mut line = Vec::new();
        let n = tokio::io::AsyncReadExt::take(&mut lines, MAX_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        let result = match serde_json::from_slice::<Operation>(&line) {
            Ok(op) => {
                tracing::info!(?op, uid = peer.uid(), "admin operation");
                perform(&app, op, Mode::Live).await
            }
            Err(e) => Err(RpcError::invalid(format!("not an admin operation: {e}"))),
        };
        let answer = Answer::from_result(result);
        write
            .write_all(format!("{}\n", serde_json::to_string(&answer)?).as_bytes())
            .await?;
    }
}

/// The CLI's side: a connection to a running server's socket, or `None` when no server
/// answers there (no socket file, or one left by a server that is gone).
pub fn connect(path: &Path) -> std::io::Result<Option<std::os::unix::net::UnixStream>> {
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(s) => Ok(Some(s)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(std::io::Error::new(
            e.kind(),
            format!(
                "cannot use the admin socket {}: permission denied; run the command as the \
                     server's user (for example `sudo -u outpost outpost ...`)",
                path.display()
            ),
        )),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("admin socket {}: {e}", path.display()),
        )),
    }
}

/// Sends one operation and reads its answer.
pub fn ask(stream: &mut std::os::unix::net::UnixStream, op: &Operation) -> std::io::Result<Answer> {
    let line = serde_json::to_string(op)?;
    stream.write_all(line.as_bytes())?;
    stream.write_all(b"\n")?;
    stream.flush()?;
    let mut reader = BufReader::new(&*stream);
    let mut answer = String::new();
    reader.read_line(&mut answer)?;
    if answer.is_empty() {
        return Err(std::io::Error::other(
            "the server closed the admin socket without answering",
        ));
    }
    Ok(serde_json::from_str(&answer)?)
}
