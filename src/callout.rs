//! What `switchboard call` prints for a tool's result: its text as is, and
//! binary content (images, audio, embedded blobs) saved to files under
//! `--out-dir` instead of printed as base64, which helps no one on a
//! terminal. Without `--out-dir` a binary block is one line saying what it
//! is and how to save it. (`--json` prints the result untouched.)

use std::path::{Path, PathBuf};

use base64::Engine;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

/// A binary block the result carried: its MIME type and base64 data.
struct Binary<'a> {
    kind: &'static str,
    mime_type: &'a str,
    data: &'a str,
}

/// Why a binary block could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(
        "the tool's {kind} ({mime_type}) is not valid base64: {reason}; `--json` shows it as sent"
    )]
    NotBase64 {
        kind: &'static str,
        mime_type: String,
        reason: String,
    },
    #[error(
        "cannot write {path}: {reason}; check that the --out-dir directory exists and is writable"
    )]
    Write { path: PathBuf, reason: String },
}

impl From<SaveError> for switchboard::Error {
    fn from(error: SaveError) -> Self {
        match error {
            SaveError::NotBase64 { .. } => switchboard::Error::ToolFailed {
                message: error.to_string(),
            },
            SaveError::Write { .. } => switchboard::Error::InvalidInput(error.to_string()),
        }
    }
}

/// The result as text; binary blocks saved under `out_dir` (named after the
/// tool, numbered, with an extension from the MIME type) or described.
pub fn render(
    result: &CallToolResult,
    tool: &str,
    out_dir: Option<&Path>,
) -> Result<String, SaveError> {
    let mut parts = Vec::new();
    let mut saved = 0usize;
    for content in &result.content {
        match binary(content) {
            Some(block) => {
                saved += 1;
                parts.push(match out_dir {
                    Some(dir) => save(&block, &dir.join(file_name(tool, saved, block.mime_type)))?,
                    None => format!(
                        "[{} {}, {} bytes: pass --out-dir DIR to save it, or --json to see it]",
                        block.kind,
                        block.mime_type,
                        decoded_len(block.data)
                    ),
                });
            }
            None => parts.push(match content {
                ContentBlock::Text(text) => text.text.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            }),
        }
    }
    if parts.is_empty() {
        if let Some(structured) = &result.structured_content {
            parts.push(structured.to_string());
        }
    }
    Ok(parts.join("\n"))
}

fn binary(content: &ContentBlock) -> Option<Binary<'_>> {
    match content {
        ContentBlock::Image(image) => Some(Binary {
            kind: "image",
            mime_type: &image.mime_type,
            data: &image.data,
        }),
        ContentBlock::Audio(audio) => Some(Binary {
            kind: "audio",
            mime_type: &audio.mime_type,
            data: &audio.data,
        }),
        ContentBlock::Resource(embedded) => match &embedded.resource {
            ResourceContents::BlobResourceContents {
                mime_type, blob, ..
            } => Some(Binary {
                kind: "resource",
                mime_type: mime_type.as_deref().unwrap_or("application/octet-stream"),
                data: blob,
            }),
            _ => None,
        },
        _ => None,
    }
}

/// Writes one block; the line that says where it went.
fn save(block: &Binary<'_>, path: &Path) -> Result<String, SaveError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(block.data.trim())
        .map_err(|e| SaveError::NotBase64 {
            kind: block.kind,
            mime_type: block.mime_type.to_string(),
            reason: e.to_string(),
        })?;
    std::fs::write(path, &bytes).map_err(|e| SaveError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(format!(
        "saved {} {} ({} bytes) to {}",
        block.kind,
        block.mime_type,
        bytes.len(),
        path.display()
    ))
}

/// `TOOL-N.EXT`, the tool name kept to characters safe in a file name (a
/// hostile server picks the MIME type; the tool name is the user's).
fn file_name(tool: &str, n: usize, mime_type: &str) -> String {
    let stem: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{stem}-{n}.{}", extension(mime_type))
}

/// A file extension for the MIME type; only the known ones, so a server
/// cannot choose a path.
fn extension(mime_type: &str) -> &'static str {
    let essence = mime_type.split(';').next().unwrap_or("").trim();
    match essence.to_ascii_lowercase().as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/ogg" => "ogg",
        "audio/flac" => "flac",
        "application/pdf" => "pdf",
        "application/json" => "json",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// The decoded size of base64 data, without decoding it.
fn decoded_len(data: &str) -> usize {
    let data = data.trim();
    let padding = data.bytes().rev().take_while(|&b| b == b'=').count();
    (data.len() / 4 * 3).saturating_sub(padding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_cannot_pick_the_path_or_extension() {
        assert_eq!(
            file_name("ev__get-tiny-image", 1, "image/png"),
            "ev__get-tiny-image-1.png"
        );
        assert_eq!(file_name("../x", 2, "image/../../etc"), "___x-2.bin");
        assert_eq!(extension("audio/wav; codecs=1"), "wav");
    }

    #[test]
    fn decoded_len_counts_padding() {
        assert_eq!(decoded_len("aGk="), 2);
        assert_eq!(decoded_len("aGlo"), 3);
    }
}
