//! Reading a container image: an OCI image layout (a directory, or a tar of one), a
//! `docker save` tar, or a plain directory that is the root filesystem itself.
//!
//! Everything read is checked before use: each blob against the digest and size its
//! descriptor gives, each uncompressed layer against the config's `rootfs.diff_ids`, media
//! types against the ones this reader knows. A failure names the file (or blob) and the
//! reason ([`OciError`]).
//!
//! - [`source`]: which kind of input a path is, and reading its files and blobs.
//! - [`manifest`]: index, manifest and config, as the OCI image spec and Docker write them.
//! - [`writer`]: writing an OCI layout, for images the project makes itself.

pub mod manifest;
pub mod source;
pub mod writer;

use std::fmt;
use std::path::{Path, PathBuf};

pub use manifest::ImageConfig;
use source::Source;

/// An image read and checked: its config and its layers, uncompressed, bottom first.
pub struct Image {
    /// The image config (Entrypoint, Cmd, Env, WorkingDir, User).
    pub config: ImageConfig,
    /// Each layer's tar, uncompressed, with what it was read from (for messages).
    pub layers: Vec<Layer>,
}

/// One uncompressed layer tar.
pub struct Layer {
    /// Where it came from: the blob's digest, or the docker-save path.
    pub name: String,
    /// The tar's bytes.
    pub tar: Vec<u8>,
}

/// What the input is.
pub enum Input {
    /// A container image.
    Image(Box<Image>),
    /// A directory that is the root filesystem (no config: the caller says what to run).
    RootDir(PathBuf),
}

/// Why an input could not be read.
#[derive(Debug)]
#[allow(missing_docs, reason = "the fields are the file (or layer) and path named, and the reason")]
pub enum OciError {
    /// A file could not be read.
    Io { path: String, error: std::io::Error },
    /// A JSON document is malformed or lacks a field.
    Json { path: String, error: String },
    /// A required file is not there.
    Missing { path: String, what: &'static str },
    /// A blob's SHA-256 or size is not the one its descriptor (or the config) gives.
    Digest { path: String, expected: String, actual: String },
    /// Something this reader does not handle (a media type, a digest algorithm, a platform).
    Unsupported { path: String, what: String },
    /// A tar (the input, or a layer) is corrupt.
    Tar { path: String, error: String },
}

impl fmt::Display for OciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, error } => write!(f, "{path}: {error}"),
            Self::Json { path, error } => write!(f, "{path}: {error}"),
            Self::Missing { path, what } => write!(f, "{path}: missing ({what})"),
            Self::Digest { path, expected, actual } => {
                write!(f, "{path}: content is {actual}, its descriptor says {expected}")
            }
            Self::Unsupported { path, what } => write!(f, "{path}: unsupported: {what}"),
            Self::Tar { path, error } => write!(f, "{path}: corrupt tar: {error}"),
        }
    }
}

impl std::error::Error for OciError {}

/// Reads `path`: an OCI layout directory, an OCI layout or docker-save tar, or a plain
/// directory (the root filesystem).
///
/// # Errors
/// [`OciError`] naming the file and the reason.
pub fn read(path: &Path) -> Result<Input, OciError> {
    match Source::open(path)? {
        Source::RootDir(dir) => Ok(Input::RootDir(dir)),
        source => manifest::read_image(&source).map(|image| Input::Image(Box::new(image))),
    }
}
