//! Resolving a path inside an image as the kernel does, over any storage of it: the tree
//! being built ([`super::tree::Tree`]) or a built ext2 disk (`crate::measure::disk`). One
//! walk, so the entrypoint the builder checks and the one the measurement predictor hashes
//! are found the same way.

/// What the walk needs to know about one inode.
pub enum Node {
    /// A directory (the walk may descend into it).
    Dir,
    /// A symbolic link, with its target.
    Symlink(Vec<u8>),
    /// Anything else (a regular file, a device...): the walk can only end on it.
    Other,
}

/// Linux's limit on symlinks followed in one lookup (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// Looks `path` up from `root`: symlinks followed (an absolute target from the root, a
/// relative one from the link's directory), `..` at the root staying at the root.
/// `lookup(dir, name)` finds an entry of directory `dir`; `node(id)` says what `id` is.
/// `None` if a component is missing, anything follows a non-directory (`file/`,
/// `file/..`), or more than [`MAX_SYMLINKS`] links are followed.
pub fn resolve<Id: Copy>(
    root: Id,
    path: &[u8],
    mut lookup: impl FnMut(Id, &[u8]) -> Option<Id>,
    mut node: impl FnMut(Id) -> Option<Node>,
) -> Option<Id> {
    // The directories from the root to where the walk is, and the components still to
    // walk (a symlink's target spliced in where it stood).
    let mut stack = vec![root];
    let mut todo: Vec<Vec<u8>> = path.split(|&b| b == b'/').rev().map(<[u8]>::to_vec).collect();
    let mut hops = 0;
    while let Some(name) = todo.pop() {
        // Any component after a non-directory, even `.`, `..` or the empty one a trailing
        // slash leaves, is ENOTDIR to the kernel.
        let dir = *stack.last()?;
        if !matches!(node(dir)?, Node::Dir) {
            return None;
        }
        match &name[..] {
            b"" | b"." => continue,
            b".." => {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            _ => {}
        }
        let next = lookup(dir, &name)?;
        match node(next)? {
            Node::Symlink(target) => {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return None;
                }
                if target.starts_with(b"/") {
                    stack.truncate(1);
                }
                todo.extend(target.split(|&b| b == b'/').rev().map(<[u8]>::to_vec));
            }
            Node::Dir | Node::Other => stack.push(next),
        }
    }
    stack.last().copied()
}
