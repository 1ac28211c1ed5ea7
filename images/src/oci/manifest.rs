//! The documents that say what an image is: an OCI layout's `index.json` and manifests
//! (OCI image spec, `image-layout.md`, `manifest.md`), Docker's `manifest.json` of `docker
//! save`, and the image config (`config.md`) both point at. Unknown fields are ignored, as
//! the spec asks of readers.

use std::io::Read as _;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::source::Source;
use super::{Image, Layer, OciError};

/// A content descriptor.
#[derive(Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the content is.
    pub media_type: String,
    /// `sha256:<64 hex>`.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// For manifests in an index: the platform.
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// An index entry's platform.
#[derive(Deserialize, Clone, Debug)]
pub struct Platform {
    /// `amd64`, `arm64`, ...
    pub architecture: String,
    /// `linux`, ...
    pub os: String,
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    layers: Vec<String>,
}

/// The image config, as far as booting it needs.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct ImageConfig {
    /// `amd64` for images this kernel runs.
    #[serde(default)]
    pub architecture: String,
    /// `linux`.
    #[serde(default)]
    pub os: String,
    /// What the container runs.
    #[serde(default)]
    pub config: RunConfig,
    /// The layers' uncompressed digests, bottom first.
    pub rootfs: RootFs,
}

/// The `config` object of an image config.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    /// The program and its first arguments.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// Arguments after the entrypoint (or the program, without one).
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// `KEY=value` each.
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// The working directory.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// `user`, `uid`, `user:group` or `uid:gid`.
    #[serde(default)]
    pub user: Option<String>,
}

/// The `rootfs` object of an image config.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct RootFs {
    /// `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `sha256:<hex>` of each uncompressed layer.
    pub diff_ids: Vec<String>,
}

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Layer media types: uncompressed, gzip.
const LAYERS: [(&str, bool); 4] = [
    ("application/vnd.oci.image.layer.v1.tar", false),
    ("application/vnd.oci.image.layer.v1.tar+gzip", true),
    ("application/vnd.docker.image.rootfs.diff.tar", false),
    ("application/vnd.docker.image.rootfs.diff.tar.gzip", true),
];

/// Reads the image `source` holds: an OCI layout if it has `index.json`, else a docker-save
/// `manifest.json`.
///
/// # Errors
/// [`OciError`] naming the document or blob that is wrong.
pub fn read_image(source: &Source) -> Result<Image, OciError> {
    let (config_bytes, config_name, layers) = if source.has("index.json") {
        read_layout(source)?
    } else if source.has("manifest.json") {
        read_docker(source)?
    } else {
        return Err(OciError::Missing {
            path: source.shown("index.json"),
            what: "an OCI layout's index.json, or docker save's manifest.json",
        });
    };
    let config: ImageConfig = json(&config_bytes, &config_name)?;
    if config.os != "linux" || config.architecture != "amd64" {
        return Err(OciError::Unsupported {
            path: config_name,
            what: format!("platform {}/{}, not linux/amd64", config.os, config.architecture),
        });
    }
    if config.rootfs.diff_ids.len() != layers.len() {
        return Err(OciError::Json {
            path: config_name,
            error: format!(
                "rootfs.diff_ids has {} entries for {} layers",
                config.rootfs.diff_ids.len(),
                layers.len()
            ),
        });
    }
    // Each layer, uncompressed, must be the one the config names.
    for (layer, diff_id) in layers.iter().zip(&config.rootfs.diff_ids) {
        check_digest(&layer.tar, diff_id, None, &format!("{} (uncompressed)", layer.name))?;
    }
    Ok(Image { config, layers })
}

/// An OCI layout: index → (index →) manifest → config and layers, all by digest.
fn read_layout(source: &Source) -> Result<(Vec<u8>, String, Vec<Layer>), OciError> {
    let layout: serde_json::Value =
        json(&source.read("oci-layout", "the layout marker")?, &source.shown("oci-layout"))?;
    if layout["imageLayoutVersion"] != "1.0.0" {
        return Err(OciError::Unsupported {
            path: source.shown("oci-layout"),
            what: format!("imageLayoutVersion {}", layout["imageLayoutVersion"]),
        });
    }
    let mut index: Index =
        json(&source.read("index.json", "the image index")?, &source.shown("index.json"))?;
    let mut from = source.shown("index.json");
    // An index may point at a nested index (one per platform): follow one level.
    for _ in 0..2 {
        let entry = pick_manifest(&index.manifests, &from)?;
        let bytes = blob(source, &entry)?;
        match entry.media_type.as_str() {
            INDEX | DOCKER_LIST => {
                from = blob_name(&entry.digest);
                index = json(&bytes, &from)?;
            }
            MANIFEST | DOCKER_MANIFEST => {
                let manifest: Manifest = json(&bytes, &blob_name(&entry.digest))?;
                let config = blob(source, &manifest.config)?;
                let mut layers = Vec::with_capacity(manifest.layers.len());
                for layer in &manifest.layers {
                    let Some(&(_, gzip)) = LAYERS.iter().find(|(m, _)| *m == layer.media_type)
                    else {
                        return Err(OciError::Unsupported {
                            path: blob_name(&layer.digest),
                            what: format!("layer media type {}", layer.media_type),
                        });
                    };
                    let bytes = blob(source, layer)?;
                    let name = source.shown(&blob_name(&layer.digest));
                    let tar = if gzip { gunzip(&bytes, &name)? } else { bytes };
                    layers.push(Layer { name, tar });
                }
                return Ok((config, source.shown(&blob_name(&manifest.config.digest)), layers));
            }
            other => {
                return Err(OciError::Unsupported {
                    path: from,
                    what: format!("manifest media type {other}"),
                });
            }
        }
    }
    Err(OciError::Unsupported { path: from, what: "indexes nested more than one level".into() })
}

/// The manifest for linux/amd64 in an index: the only one, or the one whose platform says so.
fn pick_manifest(manifests: &[Descriptor], from: &str) -> Result<Descriptor, OciError> {
    let amd64 = |d: &&Descriptor| {
        d.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
    };
    match manifests {
        [] => Err(OciError::Json { path: from.into(), error: "no manifests".into() }),
        [only] => Ok(only.clone()),
        many => many.iter().find(amd64).cloned().ok_or_else(|| OciError::Unsupported {
            path: from.into(),
            what: format!("{} manifests and none for linux/amd64", many.len()),
        }),
    }
}

/// `docker save`: manifest.json names the config and the layer tars by path; the config's
/// diff_ids then vouch for the layers.
fn read_docker(source: &Source) -> Result<(Vec<u8>, String, Vec<Layer>), OciError> {
    let entries: Vec<DockerEntry> = json(
        &source.read("manifest.json", "docker save's manifest")?,
        &source.shown("manifest.json"),
    )?;
    let entry = match &entries[..] {
        [one] => one,
        _ => {
            return Err(OciError::Unsupported {
                path: source.shown("manifest.json"),
                what: format!("{} images in one tar (save one image)", entries.len()),
            });
        }
    };
    let config = source.read(&entry.config, "the image config")?;
    let mut layers = Vec::with_capacity(entry.layers.len());
    for path in &entry.layers {
        let bytes = source.read(path, "a layer")?;
        let name = source.shown(path);
        let tar = if bytes.starts_with(&[0x1f, 0x8b]) { gunzip(&bytes, &name)? } else { bytes };
        layers.push(Layer { name, tar });
    }
    Ok((config, source.shown(&entry.config), layers))
}

/// A blob by its descriptor, checked against its digest and size.
fn blob(source: &Source, d: &Descriptor) -> Result<Vec<u8>, OciError> {
    let name = blob_name(&d.digest);
    if !d.digest.starts_with("sha256:") {
        return Err(OciError::Unsupported { path: name, what: format!("digest {}", d.digest) });
    }
    let bytes = source.read(&name, "a blob the image names")?;
    check_digest(&bytes, &d.digest, Some(d.size), &source.shown(&name))?;
    Ok(bytes)
}

/// `blobs/<alg>/<hex>` for digest `<alg>:<hex>`.
fn blob_name(digest: &str) -> String {
    let (alg, hex) = digest.split_once(':').unwrap_or(("?", digest));
    format!("blobs/{alg}/{hex}")
}

/// Checks `bytes` against `digest` (`sha256:<hex>`) and `size`.
fn check_digest(bytes: &[u8], digest: &str, size: Option<u64>, name: &str) -> Result<(), OciError> {
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    if actual != digest {
        return Err(OciError::Digest { path: name.into(), expected: digest.into(), actual });
    }
    if let Some(size) = size.filter(|&s| s != bytes.len() as u64) {
        return Err(OciError::Digest {
            path: name.into(),
            expected: format!("{size} bytes"),
            actual: format!("{} bytes", bytes.len()),
        });
    }
    Ok(())
}

/// The most a layer may unpack to: the build holds every layer in memory, so a small blob
/// that inflates without end (a gzip bomb) is refused rather than followed.
pub const MAX_LAYER_BYTES: u64 = 16 << 30;

/// Every member of a gzip stream (a layer may be several concatenated), at most
/// [`MAX_LAYER_BYTES`].
fn gunzip(bytes: &[u8], name: &str) -> Result<Vec<u8>, OciError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_LAYER_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| OciError::Tar { path: name.into(), error: format!("gzip: {e}") })?;
    if out.len() as u64 > MAX_LAYER_BYTES {
        return Err(OciError::Unsupported {
            path: name.into(),
            what: format!("a layer that unpacks to more than {} GiB", MAX_LAYER_BYTES >> 30),
        });
    }
    Ok(out)
}

fn json<T: serde::de::DeserializeOwned>(bytes: &[u8], name: &str) -> Result<T, OciError> {
    serde_json::from_slice(bytes)
        .map_err(|e| OciError::Json { path: name.into(), error: e.to_string() })
}
