//! In-kernel tests of Unix-domain sockets: pairs, EOF and EPIPE, and the rest that needs no
//! process around them.

use crate::error::Errno;
use crate::fs::file::FileLike;

use super::socket::{Credentials, IoFlags, SockType};
use super::unix::UnixSocket;
use super::unix_queue::QUEUE_CAPACITY;

ostd::ktest! {
    fn unix_reads_and_writes_of_no_bytes_move_nothing() {
        let me = Credentials::default();
        // A read of no bytes neither waits nor takes a datagram (Linux's sock_read_iter).
        let (a, b) = UnixSocket::pair(SockType::Dgram, true, me);
        a.write(b"x").unwrap();
        assert_eq!(b.read(&mut []).unwrap(), 0);
        let mut buf = [0u8; 4];
        assert_eq!(b.read(&mut buf).unwrap(), 1, "the datagram is still there");
        // A stream write of no bytes sends nothing: the reader must not see end of file.
        let (a, b) = UnixSocket::pair(SockType::Stream, true, me);
        assert_eq!(a.write(b"").unwrap(), 0);
        assert_eq!(b.read(&mut buf).unwrap_err(), Errno::EAGAIN);
    }

    fn unix_stream_reads_resume_inside_a_message_and_across_messages() {
        let (a, b) = UnixSocket::pair(SockType::Stream, true, Credentials::default());
        a.write(b"hello").unwrap();
        a.write(b"world").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(b.read(&mut buf[..3]).unwrap(), 3);
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(b.read(&mut buf[..4]).unwrap(), 4, "the rest of one message and the next");
        assert_eq!(&buf[..4], b"lowo");
        let peeked = b.receive(16, IoFlags { peek: true, ..IoFlags::default() }).unwrap();
        assert_eq!(peeked.data, b"rld", "a peek starts where the last read stopped");
        assert_eq!(b.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"rld");
        assert_eq!(b.read(&mut buf).unwrap_err(), Errno::EAGAIN);
    }

    fn unix_socket_marks_an_epoll_ready_list_for_data_and_for_room() {
        use crate::fs::epoll_ready::ReadyList;
        let (a, b) = UnixSocket::pair(SockType::Stream, true, Credentials::default());
        let list = ReadyList::new();
        assert!(a.watch_readiness(&list, 7), "Unix sockets can mark a ready list");
        // Data for `a` arrives in its own queue.
        b.write(b"ping").unwrap();
        assert!(list.take().contains(&7), "data for a marks its key");
        // Room to send is the peer's queue: fill it, then let b read.
        let chunk = [0u8; 4096];
        while a.write(&chunk).is_ok() {}
        list.take();
        let mut buf = [0u8; 4096];
        b.read(&mut buf).unwrap();
        assert!(list.take().contains(&7), "room in the peer's queue marks a's key");
        // Unwatched, nothing marks it any more.
        a.unwatch_readiness(&list, 7);
        b.write(b"pong").unwrap();
        b.read(&mut buf).unwrap();
        assert!(list.take().is_empty(), "an unwatched socket marks nothing");
    }

    fn unix_stream_pair_carries_bytes_and_reports_eof_and_epipe() {
        let me = Credentials::default();
        let (a, b) = UnixSocket::pair(SockType::Stream, true, me);
        assert_eq!(a.write(b"hello").unwrap(), 5);
        let mut buf = [0u8; 16];
        assert_eq!(b.read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(b.read(&mut buf).unwrap_err(), Errno::EAGAIN);
        drop(a);
        assert_eq!(b.read(&mut buf).unwrap(), 0, "EOF once the peer is gone");
        assert_eq!(b.write(b"x").unwrap_err(), Errno::EPIPE);
    }

    fn unix_dgram_pair_keeps_message_boundaries_and_truncates() {
        let (a, b) = UnixSocket::pair(SockType::Dgram, true, Credentials::default());
        a.write(b"first").unwrap();
        a.write(b"second").unwrap();
        let got = b.receive(3, IoFlags::default()).unwrap();
        assert_eq!((got.data.as_slice(), got.full_len, got.truncated), (&b"fir"[..], 5, true));
        let got = b.receive(64, IoFlags::default()).unwrap();
        assert_eq!(got.data, b"second");
    }

    fn unix_stream_fills_up_to_capacity_then_would_block() {
        let (a, _b) = UnixSocket::pair(SockType::Stream, true, Credentials::default());
        let chunk = alloc::vec![7u8; 65536];
        let mut total = 0;
        loop {
            match a.write(&chunk) {
                Ok(n) => total += n,
                Err(e) => {
                    assert_eq!(e, Errno::EAGAIN);
                    break;
                }
            }
        }
        assert_eq!(total, QUEUE_CAPACITY);
        assert!(!a.readiness().writable);
    }
}
