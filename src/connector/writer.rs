//! Group commit of the service's settings edits.
//!
//! Every edit the service makes (a status, a server config, a custom
//! connector, …) goes through one writer task. Edits that arrive while a
//! write is under way wait in its queue; the next write applies all of
//! them, in arrival order, in one locked read–modify–write of the file
//! (`SettingsStore::edit`: one parse, one temp file, one fsync, one
//! rename). Each caller is answered only once the write that holds its
//! edit is on disk, so "persisted before reported" holds exactly as with
//! one write per edit; what changes is that fifty connectors starting at
//! once pay for a handful of writes instead of a hundred.
//!
//! The file is still written only through `SettingsStore::edit`, so every
//! byte we do not own is kept and a kill at any point leaves either the old
//! or the new file.

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::settings::{SettingsEditor, SettingsError, SettingsStore};

/// The most edits one write applies; the rest wait for the next write, so
/// one caller's wait stays bounded however busy the queue is.
const MAX_BATCH: usize = 256;

/// The sending side of the writer task; the task ends when this is dropped.
pub(super) struct SettingsWriter {
    /// Edits for the writer task, answered through their own channel.
    queue: mpsc::UnboundedSender<Box<dyn Edit>>,
}

impl SettingsWriter {
    /// Starts the writer task for `store` on the current runtime.
    pub(super) fn start(store: SettingsStore) -> SettingsWriter {
        let (queue, edits) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(store, edits));
        SettingsWriter { queue }
    }

    /// Applies `f` to the settings file and returns its value once the
    /// write holding it is on disk. A write that fails fails every edit it
    /// held, and none of them is on disk.
    pub(super) async fn edit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SettingsEditor) -> T + Send + 'static,
    ) -> Result<T> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Box::new(Pending { f, done }))
            .map_err(|_| Error::Internal("the settings writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the settings write was abandoned".into()))?
    }
}

/// One queued edit, its value type erased.
trait Edit: Send {
    /// Runs the edit on the batch's editor; the value waits for the write.
    fn apply(self: Box<Self>, editor: &mut SettingsEditor) -> Box<dyn Applied>;
    /// The file could not be read or locked: the edit never ran.
    fn refuse(self: Box<Self>, err: Error);
}

/// An edit that ran, waiting to learn whether its write reached the disk.
trait Applied: Send {
    fn settle(self: Box<Self>, written: Result<()>);
}

struct Pending<F, T> {
    f: F,
    done: oneshot::Sender<Result<T>>,
}

impl<F, T> Edit for Pending<F, T>
where
    F: FnOnce(&mut SettingsEditor) -> T + Send,
    T: Send + 'static,
{
    fn apply(self: Box<Self>, editor: &mut SettingsEditor) -> Box<dyn Applied> {
        let value = (self.f)(editor);
        Box::new(Done {
            value,
            done: self.done,
        })
    }

    fn refuse(self: Box<Self>, err: Error) {
        let _ = self.done.send(Err(err));
    }
}

struct Done<T> {
    value: T,
    done: oneshot::Sender<Result<T>>,
}

impl<T: Send> Applied for Done<T> {
    fn settle(self: Box<Self>, written: Result<()>) {
        let Done { value, done } = *self;
        let _ = done.send(written.map(|()| value));
    }
}

/// The writer task: takes whatever has queued up, writes it as one edit
/// off the async threads, answers every caller, and goes again.
async fn write_batches(store: SettingsStore, mut edits: mpsc::UnboundedReceiver<Box<dyn Edit>>) {
    let mut batch = Vec::new();
    while edits.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        let store = store.clone();
        let written = tokio::task::spawn_blocking(move || write_batch(&store, jobs)).await;
        if let Err(err) = written {
            // The callers' channels went with the task; they see the write abandoned.
            tracing::error!("a settings write failed unexpectedly: {err}");
        }
    }
}

fn write_batch(store: &SettingsStore, jobs: Vec<Box<dyn Edit>>) {
    let mut unapplied = Some(jobs);
    let mut applied: Vec<Box<dyn Applied>> = Vec::new();
    let written = store.edit(|editor| {
        for job in unapplied.take().into_iter().flatten() {
            applied.push(job.apply(editor));
        }
        Ok::<(), std::convert::Infallible>(())
    });
    let outcome = match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(never)) => match never {},
        Err(err) => Err(err),
    };
    for job in unapplied.into_iter().flatten() {
        job.refuse(each(&outcome));
    }
    for job in applied {
        job.settle(outcome.clone().map_err(Error::from));
    }
}

fn each(outcome: &std::result::Result<(), SettingsError>) -> Error {
    match outcome {
        Err(err) => Error::Settings(err.clone()),
        Ok(()) => Error::Internal("a settings edit was left out of its write".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edits queued while a write is under way land together, in order,
    /// and each caller gets its own value.
    #[tokio::test]
    async fn concurrent_edits_all_land_and_answer() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "// mine\n{\n  \"other\": 1, // keep\n}\n")?;
        let writer = std::sync::Arc::new(SettingsWriter::start(SettingsStore::new(&path)));
        let edits: Vec<_> = (0..40)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    writer
                        .edit(move |ed| {
                            ed.set(&["s", &format!("c{i}")], serde_json::Value::from(i));
                            i
                        })
                        .await
                })
            })
            .collect();
        for (i, edit) in edits.into_iter().enumerate() {
            assert_eq!(edit.await??, i);
        }
        let snapshot = SettingsStore::new(&path).load()?;
        for i in 0..40 {
            assert_eq!(
                snapshot.get(&["s", &format!("c{i}")]),
                Some(&serde_json::Value::from(i))
            );
        }
        let text = std::fs::read_to_string(&path)?;
        assert!(text.starts_with("// mine\n{\n  \"other\": 1, // keep\n"));
        Ok(())
    }

    /// A file that cannot be parsed fails every queued edit with the
    /// reason, and is left as it was.
    #[tokio::test]
    async fn a_malformed_file_fails_each_edit() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{ oops")?;
        let writer = SettingsWriter::start(SettingsStore::new(&path));
        let (a, b) = tokio::join!(
            writer.edit(|ed| ed.set(&["a"], serde_json::Value::from(1))),
            writer.edit(|ed| ed.set(&["b"], serde_json::Value::from(2))),
        );
        for result in [a, b] {
            assert!(matches!(
                result,
                Err(Error::Settings(SettingsError::Malformed { .. }))
            ));
        }
        assert_eq!(std::fs::read_to_string(&path)?, "{ oops");
        Ok(())
    }
}
