//! `images pack`: a container image (an OCI layout) from a few host files, with no base
//! image and no Dockerfile: one layer holding each file at its path (with its parent
//! directories), owned by root, times fixed, and a config naming the entrypoint and the user.
//! The verifier's own image is made this way (`make attest-image`: the static `attest`
//! binary, run as an unprivileged user). Reproducible: the same files give the same digests.

use std::path::PathBuf;

use serde_json::json;

use crate::oci::writer::{NewImage, write_layout};

/// What to pack.
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    /// Host file and the absolute path it gets in the image.
    pub files: Vec<(PathBuf, String)>,
    /// The config's Entrypoint.
    pub entrypoint: Vec<String>,
    /// The config's User (`uid:gid`).
    pub user: Option<String>,
    /// The output directory (an OCI layout).
    pub out: PathBuf,
}

/// The modification time of every entry (the layer does not depend on when it was made).
const MTIME: u64 = 0;

/// Writes the layout; returns the manifest's digest.
///
/// # Errors
/// A file that cannot be read, a destination that is not absolute or has `..`, no file.
pub fn pack(opts: &PackOptions) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt as _;
    if opts.files.is_empty() {
        return Err("no --file to pack".into());
    }
    let mut layer = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (src, dest) in &opts.files {
        if !dest.starts_with('/') || dest.split('/').any(|c| c == "..") {
            return Err(format!("{dest:?}: the path in the image must be absolute, without `..`"));
        }
        let bytes = std::fs::read(src).map_err(|e| format!("{}: {e}", src.display()))?;
        let mode = std::fs::metadata(src)
            .map_err(|e| format!("{}: {e}", src.display()))?
            .permissions()
            .mode()
            & 0o755;
        let rel = dest.trim_start_matches('/');
        let mut parent = String::new();
        for part in rel.split('/').rev().skip(1).collect::<Vec<_>>().into_iter().rev() {
            parent = format!("{parent}{part}/");
            if dirs.insert(parent.clone()) {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                layer
                    .append_data(&mut h, &parent, &[][..])
                    .map_err(|e| format!("{parent}: {e}"))?;
            }
        }
        let mut h = header(tar::EntryType::Regular, mode, bytes.len() as u64);
        layer.append_data(&mut h, rel, &bytes[..]).map_err(|e| format!("{dest}: {e}"))?;
    }
    let layer = layer.into_inner().map_err(|e| e.to_string())?;
    let mut run = json!({"Entrypoint": opts.entrypoint});
    if let Some(user) = &opts.user {
        run["User"] = json!(user);
    }
    write_layout(&opts.out, &NewImage { layers: vec![layer], run, gzip: true })
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size);
    h
}
