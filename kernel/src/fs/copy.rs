//! Copying between open files through a kernel buffer (sendfile, copy_file_range, splice).

use alloc::sync::Arc;

use super::FileLike;
use crate::error::SysResult;

/// How much one step of a copy moves at most.
pub const IO_CHUNK: usize = 64 * 1024;

/// Moves up to `count` bytes from `input` to `out`, each at its offset if given (advancing
/// it) or else at its file position. Stops at EOF, a short write, or an error after progress.
pub fn copy_between(
    input: &Arc<dyn FileLike>,
    in_off: &mut Option<u64>,
    out: &Arc<dyn FileLike>,
    out_off: &mut Option<u64>,
    count: usize,
) -> SysResult<usize> {
    let mut buf = alloc::vec![0u8; count.min(IO_CHUNK)];
    let mut done = 0usize;
    while done < count {
        let want = (count - done).min(buf.len());
        let read = match *in_off {
            Some(off) => input.read_at(off, &mut buf[..want]),
            None => input.read(&mut buf[..want]),
        };
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let written = match *out_off {
            Some(off) => out.write_at(off, &buf[..n]),
            None => out.write(&buf[..n]),
        };
        let w = match written {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        if let Some(off) = in_off.as_mut() {
            *off += w as u64;
        }
        if let Some(off) = out_off.as_mut() {
            *off += w as u64;
        }
        if w < n {
            break;
        }
    }
    Ok(done)
}
