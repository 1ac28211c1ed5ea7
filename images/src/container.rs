//! From an image config to the process the kernel runs as init ([`ContainerSpec`]), as a
//! container runtime would start it: the argument vector is Entrypoint then Cmd, the
//! environment is Env (with a default `PATH` if it has none), the working directory is
//! WorkingDir (or `/`), and User is resolved against the image's own `/etc/passwd` and
//! `/etc/group` (names to ids, the user's primary group, and the groups that list it).
//!
//! The image is read-only and measured, so resolving here, on the host, gives what a runtime
//! resolving at start would.

use guest_image::container::ContainerSpec;

use crate::oci::manifest::RunConfig;
use crate::rootfs::tree::{Kind, Tree};

/// The `PATH` runtimes set when the image has none (runc, containerd).
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the command line of `images build` may put in place of the config's fields.
#[derive(Default, Debug, Clone)]
pub struct Overrides {
    /// Replaces Entrypoint (and drops Cmd unless `cmd` is given too), as `docker run
    /// --entrypoint` does.
    pub entrypoint: Option<Vec<String>>,
    /// Replaces Cmd.
    pub cmd: Option<Vec<String>>,
    /// Added to Env (a key given here replaces the image's).
    pub env: Vec<String>,
    /// Replaces WorkingDir.
    pub workdir: Option<String>,
    /// Replaces User.
    pub user: Option<String>,
}

/// Resolves `config` (with `overrides`) against the image's files in `tree`.
///
/// # Errors
/// A message naming the field: nothing to run, a relative working directory, a user or
/// group the image's `/etc/passwd` or `/etc/group` does not have.
pub fn resolve(
    config: &RunConfig,
    tree: &Tree,
    overrides: &Overrides,
) -> Result<ContainerSpec, String> {
    let entrypoint = overrides.entrypoint.clone().or_else(|| config.entrypoint.clone());
    let cmd = match (&overrides.entrypoint, &overrides.cmd) {
        (_, Some(cmd)) => Some(cmd.clone()),
        (Some(_), None) => None,
        (None, None) => config.cmd.clone(),
    };
    let args: Vec<Vec<u8>> = entrypoint
        .into_iter()
        .flatten()
        .chain(cmd.into_iter().flatten())
        .map(String::into_bytes)
        .collect();
    if args.first().is_none_or(Vec::is_empty) {
        return Err("the image config has no Entrypoint or Cmd to run (give --entrypoint or \
                    --cmd)"
            .into());
    }
    let mut env: Vec<String> = config.env.clone().unwrap_or_default();
    for var in &overrides.env {
        let key = var.split('=').next().unwrap_or_default();
        env.retain(|v| v.split('=').next() != Some(key));
        env.push(var.clone());
    }
    if !env.iter().any(|v| v.starts_with("PATH=")) {
        env.push(DEFAULT_PATH.into());
    }
    let cwd = overrides
        .workdir
        .clone()
        .or_else(|| config.working_dir.clone())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    if !cwd.starts_with('/') {
        return Err(format!("WorkingDir {cwd:?} is not absolute"));
    }
    let user = overrides.user.clone().or_else(|| config.user.clone()).unwrap_or_default();
    let (uid, gid, groups) = resolve_user(&user, tree)?;
    Ok(ContainerSpec {
        args,
        env: env.into_iter().map(String::into_bytes).collect(),
        cwd: cwd.into_bytes(),
        uid,
        gid,
        groups,
    })
}

/// `""`, `user`, `uid`, `user:group`, `uid:gid` (any mix) → uid, gid, supplementary groups.
fn resolve_user(user: &str, tree: &Tree) -> Result<(u32, u32, Vec<u32>), String> {
    if user.is_empty() {
        return Ok((0, 0, Vec::new()));
    }
    let (who, group) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let passwd = read_text(tree, "/etc/passwd");
    let groups_file = read_text(tree, "/etc/group");
    // passwd: name:x:uid:gid:gecos:home:shell
    let account = passwd.as_deref().and_then(|text| {
        text.lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() >= 4 && (f[0] == who || (who.parse::<u32>().is_ok() && f[2] == who)))
    });
    let uid = match (who.parse::<u32>(), &account) {
        (Ok(uid), _) => uid,
        (Err(_), Some(fields)) => fields[2]
            .parse()
            .map_err(|_| format!("/etc/passwd: user {who:?} has uid {:?}", fields[2]))?,
        (Err(_), None) => {
            return Err(format!("User {user:?}: no user {who:?} in the image's /etc/passwd"));
        }
    };
    let name = account.as_ref().map(|f| f[0].to_owned());
    let gid = match group {
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => group_id(groups_file.as_deref(), g).ok_or_else(|| {
                format!("User {user:?}: no group {g:?} in the image's /etc/group")
            })?,
        },
        None => match &account {
            Some(fields) => fields[3]
                .parse()
                .map_err(|_| format!("/etc/passwd: user {who:?} has gid {:?}", fields[3]))?,
            None => 0,
        },
    };
    // Supplementary groups: those listing the user by name (only when no group was given,
    // as runtimes do for `user` alone).
    let mut groups = Vec::new();
    if group.is_none()
        && let (Some(name), Some(text)) = (&name, groups_file.as_deref())
    {
        for fields in text.lines().map(|l| l.split(':').collect::<Vec<_>>()) {
            if fields.len() >= 4
                && fields[3].split(',').any(|m| m == name)
                && let Ok(id) = fields[2].parse::<u32>()
                && !groups.contains(&id)
            {
                groups.push(id);
            }
        }
    }
    Ok((uid, gid, groups))
}

fn group_id(text: Option<&str>, name: &str) -> Option<u32> {
    text?
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find_map(|f| (f.len() >= 3 && f[0] == name).then(|| f[2].parse().ok()).flatten())
}

/// A regular file's contents as text, if the image has it.
fn read_text(tree: &Tree, path: &str) -> Option<String> {
    match &tree.inode(tree.lookup(path)?).kind {
        Kind::File(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        _ => None,
    }
}

/// Where [`program`] looks for the entrypoint: the tree being built, or a built disk.
pub trait ImageFiles {
    /// The contents of the regular file `path` resolves to (symlinks followed as the kernel
    /// follows them), or `None` if it is missing or not a regular file.
    fn regular_file(&self, path: &str) -> Option<Vec<u8>>;
}

impl ImageFiles for Tree {
    fn regular_file(&self, path: &str) -> Option<Vec<u8>> {
        match &self.inode(self.resolve(path)?).kind {
            Kind::File(bytes) => Some(bytes.clone()),
            _ => None,
        }
    }
}

/// The program the kernel runs for `spec` in `files`, as it finds it: `args[0]` itself if
/// it has a `/`, else the first directory of the spec's `PATH` holding a regular file of
/// that name (symlinks followed); with the file's bytes (what measured boot hashes).
pub fn program(spec: &ContainerSpec, files: &impl ImageFiles) -> Option<(String, Vec<u8>)> {
    let name = String::from_utf8_lossy(spec.args.first()?).into_owned();
    if name.contains('/') {
        return files.regular_file(&name).map(|bytes| (name, bytes));
    }
    let path = spec
        .env
        .iter()
        .find_map(|v| v.strip_prefix(b"PATH="))
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    path.split(':').filter(|d| d.starts_with('/')).find_map(|dir| {
        let candidate = format!("{}/{name}", dir.trim_end_matches('/'));
        files.regular_file(&candidate).map(|bytes| (candidate, bytes))
    })
}
