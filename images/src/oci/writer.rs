//! Writing an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`): the reader's
//! counterpart, for images the project makes itself (test images from Debian's packages, a
//! container image of `attest`). Deterministic: gzip headers carry no time or name, and
//! JSON is written with its keys in a fixed order, so the same layers and config give the
//! same digests.

use std::io::Write as _;
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// An image to write.
pub struct NewImage {
    /// Each layer's tar, uncompressed, bottom first.
    pub layers: Vec<Vec<u8>>,
    /// The config's `config` object (`Entrypoint`, `Cmd`, `Env`, `WorkingDir`, `User`).
    pub run: Value,
    /// Whether layers are stored gzip-compressed (`tar+gzip`) or as plain tars.
    pub gzip: bool,
}

/// Writes `image` as an OCI layout in `dir` (created if missing) and returns the manifest's
/// digest.
///
/// # Errors
/// The file that could not be written.
pub fn write_layout(dir: &Path, image: &NewImage) -> Result<String, String> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| format!("{}: {e}", blobs.display()))?;
    let put = |bytes: &[u8]| -> Result<(String, u64), String> {
        let hex = hex::encode(Sha256::digest(bytes));
        let path = blobs.join(&hex);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((format!("sha256:{hex}"), bytes.len() as u64))
    };
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for tar in &image.layers {
        diff_ids.push(format!("sha256:{}", hex::encode(Sha256::digest(tar))));
        let (bytes, media_type) = if image.gzip {
            (gzip(tar)?, "application/vnd.oci.image.layer.v1.tar+gzip")
        } else {
            (tar.clone(), "application/vnd.oci.image.layer.v1.tar")
        };
        let (digest, size) = put(&bytes)?;
        layers.push(json!({"mediaType": media_type, "digest": digest, "size": size}));
    }
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": image.run,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let (config_digest, config_size) = put(config.to_string().as_bytes())?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": layers,
    });
    let (manifest_digest, manifest_size) = put(manifest.to_string().as_bytes())?;
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_size,
            "platform": {"architecture": "amd64", "os": "linux"},
        }],
    });
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("oci-layout", json!({"imageLayoutVersion": "1.0.0"}).to_string())?;
    write("index.json", index.to_string())?;
    Ok(manifest_digest)
}

/// gzip with no file name and time 0 in the header.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder =
        flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).map_err(|e| format!("gzip: {e}"))?;
    encoder.finish().map_err(|e| format!("gzip: {e}"))
}
