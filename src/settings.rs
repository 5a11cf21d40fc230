//! Editing the user's VS Code style `settings.json` without disturbing it.
//!
//! The file is JSON with comments and trailing commas, and it belongs to the user: they
//! hand-edit it, comment it, and other tools write to it too. Switchboard owns only a few
//! top-level keys, spelled the flat dotted way VS Code uses (`"codebuddy.connectors.states"`,
//! `"codebuddy.mcp.servers"`, `"codebuddy.connectors.custom"`). Everything else in the file —
//! other keys, their order, comments, indentation, line endings, a byte order mark — must come
//! back out byte for byte, so edits go through jsonc-parser's concrete syntax tree, which
//! replaces only the nodes we touch.
//!
//! [`SettingsStore::load`] gives a read-only [`SettingsSnapshot`]; [`SettingsStore::edit`] is a
//! locked read-modify-write cycle through a [`SettingsEditor`]. A malformed file is reported
//! and never written.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::atomic_file;

use crate::jsonc::{find_prop, node_to_value, parse_options, trailing_comma_mode, walk};
use jsonc_parser::cst::{CstInputValue, CstObjectProp, CstRootNode, TrailingCommaMode};
use serde_json::{Map, Value};

const BOM: char = '\u{feff}';

/// Handle on one settings file. Cheap to create; touches the disk only in `load` and `edit`.
#[derive(Debug, Clone)]
pub struct SettingsStore {
    path: PathBuf,
}

impl SettingsStore {
    /// A store for the settings file at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The settings file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and parses the file; a missing file reads as an empty object.
    ///
    /// No lock is taken: writers replace the file by renaming a complete new one over it, so a
    /// reader always sees either the old or the new contents.
    pub fn load(&self) -> Result<SettingsSnapshot, SettingsError> {
        let text = read_settings(&self.path)?.unwrap_or_default();
        let doc = Document::parse(&self.path, &text)?;
        if doc.root.value().is_none() {
            return Ok(SettingsSnapshot::default());
        }
        // The CST parse above already vetted the text, so this cannot fail in practice; the
        // error is still mapped rather than unwrapped.
        let map = match crate::jsonc::parse_value(&doc.body)
            .map_err(|err| malformed(&self.path, &err))?
        {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        Ok(SettingsSnapshot { map })
    }

    /// The 1-based line where the property at `path` starts in the file
    /// as it is now, for messages that point a person at what to fix.
    pub fn line_of(&self, path: &[&str]) -> Option<usize> {
        let text = read_settings(&self.path).ok()??;
        let body = text.strip_prefix(BOM).unwrap_or(&text);
        let parsed =
            jsonc_parser::parse_to_ast(body, &Default::default(), &parse_options()).ok()?;
        let mut value = parsed.value?;
        let mut start = 0;
        for key in path {
            let jsonc_parser::ast::Value::Object(object) = value else {
                return None;
            };
            // The last occurrence is the one read, as in `get`.
            let prop = object
                .properties
                .into_iter()
                .rfind(|p| p.name.as_str() == *key)?;
            start = prop.range.start;
            value = prop.value;
        }
        Some(body[..start].matches('\n').count() + 1)
    }

    /// Takes an exclusive cross-process lock, reads the file fresh, calls `f` with an editor,
    /// and if the text changed writes it back atomically. Returns `f`'s value.
    ///
    /// The lock is held on a sidecar `<settings>.lock` file next to the settings file (created
    /// if needed, together with missing parent directories, and left in place afterwards): the
    /// settings file itself is replaced by rename on every write, which would orphan a lock
    /// taken on it. A missing settings file edits as an empty document. The new text goes to a
    /// temp file in the same directory, is fsynced, given the old file's permissions, and
    /// renamed over the old file; if the settings file is a symlink, its target is replaced so
    /// the link survives.
    ///
    /// If the file is malformed this returns [`SettingsError::Malformed`] without calling `f`;
    /// if `f` returns `Err`, nothing is written. Either way the file is untouched.
    pub fn edit<T, E>(
        &self,
        f: impl FnOnce(&mut SettingsEditor) -> Result<T, E>,
    ) -> Result<Result<T, E>, SettingsError> {
        let _lock = self.lock()?;
        let target = write_target(&self.path);
        let existing = read_settings(&target)?;
        let doc = Document::parse(&self.path, existing.as_deref().unwrap_or(""))?;
        let commas = trailing_comma_mode(&doc.root);
        let mut editor = SettingsEditor {
            root: doc.root,
            commas,
        };
        let value = match f(&mut editor) {
            Ok(value) => value,
            Err(err) => return Ok(Err(err)),
        };
        let new_body = editor.root.to_string();
        if new_body != doc.body {
            let mut text = String::with_capacity(new_body.len() + BOM.len_utf8());
            if doc.bom {
                text.push(BOM);
            }
            text.push_str(&new_body);
            // Every write holds the lock, so a temp file found now is one a killed writer
            // left behind.
            atomic_file::remove_stale(&target);
            // The file keeps its permissions.
            atomic_file::replace(&target, text.as_bytes(), None).map_err(|source| {
                SettingsError::Write {
                    path: self.path.clone(),
                    source: Arc::new(source),
                }
            })?;
        }
        Ok(Ok(value))
    }

    fn lock(&self) -> Result<File, SettingsError> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let lock_path = self.path.with_file_name(name);
        let lock_err = |source| SettingsError::Lock {
            path: lock_path.clone(),
            source: Arc::new(source),
        };
        if let Some(dir) = self.path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(lock_err)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(lock_err)?;
        // Fully qualified: newer std has an inherent `File::lock`, which the crate's MSRV lacks.
        fs4::FileExt::lock(&file).map_err(lock_err)?;
        // Dropping the file closes it, which releases the lock.
        Ok(file)
    }
}

/// A parsed read-only view of the top level of the settings file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsSnapshot {
    map: Map<String, Value>,
}

impl SettingsSnapshot {
    /// Value at a path: first element is the top-level key (e.g. `"codebuddy.mcp.servers"`),
    /// further elements are nested object keys. An empty path addresses nothing.
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter().try_fold(self.map.get(*first)?, |value, key| {
            value.as_object()?.get(*key)
        })
    }
}

/// In-place editor over the parsed file, handed to the closure of [`SettingsStore::edit`].
///
/// Paths work as in [`SettingsSnapshot::get`]. Where a key appears more than once in an
/// object, the last occurrence is the one read and set, since that is the one VS Code uses.
#[derive(Debug)]
pub struct SettingsEditor {
    root: CstRootNode,
    /// The file's own trailing-comma habit, applied to values we insert.
    commas: TrailingCommaMode,
}

impl SettingsEditor {
    /// Value at `path`, or `None` if absent (or the path is empty).
    pub fn get(&self, path: &[&str]) -> Option<Value> {
        let (last, parents) = path.split_last()?;
        let object = walk(self.root.object_value()?, parents)?;
        node_to_value(&find_prop(&object, last)?.value()?)
    }

    /// Sets the value at `path`, creating intermediate objects as needed.
    ///
    /// Only the addressed property is replaced: siblings, comments and formatting elsewhere are
    /// kept byte for byte. New properties are appended to their object with indentation,
    /// newline style and trailing-comma style taken from the file. An intermediate value that
    /// exists but is not an object is replaced by an object. Setting a value equal to the
    /// current one changes nothing, not even its formatting. An empty path does nothing.
    pub fn set(&mut self, path: &[&str], value: Value) {
        if path.is_empty() || self.get(path).as_ref() == Some(&value) {
            return;
        }
        // `edit` refuses non-object documents, so this only ever creates the top-level object.
        crate::jsonc::set_path(&self.root, path, to_input(value), self.commas);
    }

    /// Removes the property at `path` if present, returning whether it was. Every occurrence of
    /// a duplicated key goes, so that no earlier duplicate resurfaces. Removing the last
    /// property of an object leaves that object empty rather than removing it.
    pub fn remove(&mut self, path: &[&str]) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let Some(object) = self
            .root
            .object_value()
            .and_then(|root| walk(root, parents))
        else {
            return false;
        };
        let matching: Vec<CstObjectProp> = object
            .properties()
            .into_iter()
            .filter(|prop| prop.decoded_name().as_deref() == Some(*last))
            .collect();
        let found = !matching.is_empty();
        for prop in matching {
            prop.remove();
        }
        found
    }
}

/// Why reading or editing the settings file failed. `Clone`, so that one failed write can
/// answer every edit it held (the I/O errors are shared).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SettingsError {
    /// The file is not valid JSON with comments; `line` and `column` are 1-based.
    #[error(
        "settings file {path} is not valid JSON (with comments): {message} at line {line}, column {column}. \
         The file was left untouched; fix it by hand (VS Code highlights the problem when you open it) and try again"
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The top-level value is not an object, or a key we own holds the wrong type where it
    /// matters.
    #[error(
        "settings file {path} does not have the expected shape: its top level must be a JSON object \
         ({{ \"key\": value, ... }}) and the settings Switchboard manages must hold objects. \
         The file was left untouched; fix it by hand and try again"
    )]
    NotAnObject { path: PathBuf },
    /// The file exists but could not be read (permissions, not UTF-8, ...).
    #[error("could not read settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: Arc<io::Error>,
    },
    /// The new contents could not be written; the old file is still in place.
    #[error("could not write settings file {path}: {source} (the file was left unchanged)")]
    Write {
        path: PathBuf,
        source: Arc<io::Error>,
    },
    /// The lock file guarding concurrent edits could not be created or locked.
    #[error(
        "could not lock {path}, which guards edits of the settings file against other processes: {source}. \
         Check that its directory exists and is writable; the settings file was left unchanged"
    )]
    Lock {
        path: PathBuf,
        source: Arc<io::Error>,
    },
}

/// The file's text split into what the CST sees and the byte order mark it cannot parse.
struct Document {
    bom: bool,
    body: String,
    root: CstRootNode,
}

impl Document {
    fn parse(path: &Path, text: &str) -> Result<Self, SettingsError> {
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(body) => (true, body),
            None => (false, text),
        };
        let root =
            CstRootNode::parse(body, &parse_options()).map_err(|err| malformed(path, &err))?;
        // A missing value (empty or comment-only file) is fine: it edits as `{}`.
        if root.value().is_some() && root.object_value().is_none() {
            return Err(SettingsError::NotAnObject {
                path: path.to_path_buf(),
            });
        }
        Ok(Self {
            bom,
            body: body.to_owned(),
            root,
        })
    }
}

fn malformed(path: &Path, err: &jsonc_parser::errors::ParseError) -> SettingsError {
    SettingsError::Malformed {
        path: path.to_path_buf(),
        line: err.line_display(),
        column: err.column_display(),
        message: err.kind().to_string(),
    }
}

/// The file's text, or `None` if it does not exist.
fn read_settings(path: &Path) -> Result<Option<String>, SettingsError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SettingsError::Read {
            path: path.to_path_buf(),
            source: Arc::new(source),
        }),
    }
}

/// Where the new contents go: dotfile managers often symlink settings.json, and renaming over
/// the link itself would silently turn it into a regular file.
fn write_target(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

fn to_input(value: Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s),
        Value::Array(items) => CstInputValue::Array(items.into_iter().map(to_input).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.into_iter().map(|(k, v)| (k, to_input(v))).collect())
        }
    }
}
