//! The socket calls: socket, socketpair, bind, listen, connect, accept, send*/recv*,
//! shutdown, get/setsockopt, getsockname/getpeername.
//!
//! Each handler decodes its arguments, calls the [`Socket`] behind the descriptor and
//! encodes the result; the socket matches on its family. AF_UNIX is the only family so far;
//! the others answer EAFNOSUPPORT, which programs (and CPython's tests) treat as "no such
//! network". One file per kind of call, each argument kind decoded in one place:
//! - `create`: socket, socketpair (domain, type and descriptor flags);
//! - `addr`: bind, connect, getsockname, getpeername (sockaddrs in and out);
//! - `conn`: listen, accept, shutdown;
//! - `io`: send*, recv* (MSG_* flags, `struct msghdr`);
//! - `cmsg`: SCM_RIGHTS control messages;
//! - `opt`: getsockopt, setsockopt (SOL_SOCKET options).

mod addr;
mod cmsg;
mod conn;
mod create;
mod io;
mod opt;

pub use addr::{sys_bind, sys_connect, sys_getpeername, sys_getsockname};
pub use conn::{sys_accept, sys_accept4, sys_listen, sys_shutdown};
pub use create::{sys_socket, sys_socketpair};
pub use io::{sys_recvfrom, sys_recvmsg, sys_sendmsg, sys_sendto};
pub use opt::{sys_getsockopt, sys_setsockopt};

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::net::socket::{Credentials, Socket, SocketCaller};
use crate::process::creds::FsCaller;
use crate::user_mem::UserMem;

impl SocketCaller for SyscallCtx<'_> {
    fn credentials(&self) -> Credentials {
        let c = self.process.creds();
        Credentials { pid: self.process.pid(), uid: c.euid, gid: c.egid }
    }

    fn fs(&self) -> FsCaller {
        crate::syscall::fs::caller(self)
    }
}

/// Returns the socket behind descriptor `fd` (EBADF, or ENOTSOCK for another file).
pub(super) fn socket_arg(ctx: &SyscallCtx, fd: u64) -> SysResult<Socket> {
    let file = ctx.process.file(fd as i32)?;
    file.into_socket().ok_or(Errno::ENOTSOCK)
}

/// Reads the room a value-result `socklen_t *` gives, for the sockaddrs and option values
/// written back (EINVAL when negative).
pub(super) fn socklen_arg(mem: &UserMem, len_addr: u64) -> SysResult<usize> {
    let room = mem.read_u32(len_addr)? as i32;
    usize::try_from(room).map_err(|_| Errno::EINVAL)
}
