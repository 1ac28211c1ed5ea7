//! The host's side of the network tests, on std's `TcpStream` only: an HTTP/1.0 client, a
//! one-file HTTP/1.0 server for the guest to fetch from, and a minimal Redis (RESP) client.
//!
//! Each socket gets a read and write timeout as a failure limit, so a guest that stops
//! answering fails the step that waited instead of hanging the run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// How long one socket operation may block before the step fails.
const IO_LIMIT: Duration = Duration::from_secs(60);

fn connect(port: u16) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connect to 127.0.0.1:{port}: {e}"))?;
    stream.set_read_timeout(Some(IO_LIMIT)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(IO_LIMIT)).map_err(|e| e.to_string())?;
    Ok(stream)
}

/// Fetches `path` from `127.0.0.1:port` with an HTTP/1.0 GET; returns the body of a 200
/// reply.
///
/// # Errors
/// The connection fails, the reply is not a 200, or its body is shorter or longer than its
/// `Content-Length`.
pub fn http_get(port: u16, path: &str) -> Result<Vec<u8>, String> {
    let mut stream = connect(port)?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| format!("send GET {path}: {e}"))?;
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .map_err(|e| format!("read the reply to GET {path} (after {} bytes): {e}", reply.len()))?;
    parse_http_reply(&reply).map(<[u8]>::to_vec).map_err(|e| format!("GET {path}: {e}"))
}

/// Returns the body of a whole HTTP/1.x reply with status 200, checked against its
/// `Content-Length` when it has one.
pub fn parse_http_reply(reply: &[u8]) -> Result<&[u8], String> {
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {} bytes of reply", reply.len()))?;
    let head = String::from_utf8_lossy(&reply[..split]);
    let body = &reply[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1);
    if !status.starts_with("HTTP/1.") || code != Some("200") {
        return Err(format!("status line {status:?}, not 200"));
    }
    let length = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>())
    });
    match length {
        Some(Ok(n)) if n != body.len() => {
            Err(format!("Content-Length {n} but {} bytes of body", body.len()))
        }
        Some(Err(e)) => Err(format!("bad Content-Length: {e}")),
        _ => Ok(body),
    }
}

/// An HTTP/1.0 server on the host's loopback that answers `GET /<name>` with one file (and
/// 404 otherwise), on a thread, until dropped.
pub struct FileServer {
    port: u16,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    /// Serves `body` as `/<name>` on a port the host's kernel picks.
    pub fn start(name: &str, body: Vec<u8>) -> Result<Self, String> {
        let listener =
            TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("bind a host server: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let (stop, served) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let (stop_seen, served_count) = (stop.clone(), served.clone());
        let path = format!("/{name}");
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_seen.load(Ordering::Acquire) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                // One client at a time is enough: the guest fetches one file after another.
                if serve_one(stream, &path, &body).is_ok() {
                    served_count.fetch_add(1, Ordering::AcqRel);
                }
            }
        });
        Ok(Self { port, stop, served, thread: Some(thread) })
    }

    /// The port on 127.0.0.1 (the guest reaches it as 10.0.2.2 through slirp).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many requests for the file it answered with the whole file.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::Acquire)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request on `stream`: `path` gets `body`, anything else 404.
fn serve_one(mut stream: TcpStream, path: &str, body: &[u8]) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_LIMIT))?;
    stream.set_write_timeout(Some(IO_LIMIT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers, up to the empty line.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 && line.trim_end() != "" {
        line.clear();
    }
    let wanted = request_line.split_whitespace().nth(1) == Some(path);
    if !wanted {
        stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
        return Err(std::io::Error::other("not the served path"));
    }
    let head = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.shutdown(Shutdown::Write)
}

/// A Redis reply, as RESP2 encodes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resp {
    /// `+OK`
    Simple(String),
    /// `-ERR ...`
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$N` and N bytes; `$-1` is `None`.
    Bulk(Option<Vec<u8>>),
}

/// A connection to a Redis server.
pub struct RedisClient {
    reader: BufReader<TcpStream>,
}

impl RedisClient {
    /// Connects to `127.0.0.1:port`.
    pub fn connect(port: u16) -> Result<Self, String> {
        Ok(Self { reader: BufReader::new(connect(port)?) })
    }

    /// Sends one command (as a RESP array of bulk strings) and reads its reply.
    pub fn command(&mut self, args: &[&str]) -> Result<Resp, String> {
        let request = encode_command(args);
        self.reader
            .get_mut()
            .write_all(&request)
            .map_err(|e| format!("send {:?}: {e}", args.first()))?;
        read_reply(&mut self.reader).map_err(|e| format!("reply to {:?}: {e}", args.first()))
    }
}

/// Encodes a command as RESP: an array of bulk strings.
pub fn encode_command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend(format!("${}\r\n", arg.len()).bytes());
        out.extend(arg.bytes());
        out.extend(b"\r\n");
    }
    out
}

/// Reads one reply (not an array: the commands used here never return one).
pub fn read_reply(reader: &mut impl BufRead) -> Result<Resp, String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let line = line.strip_suffix("\r\n").ok_or_else(|| format!("unterminated line {line:?}"))?;
    let (kind, rest) = line.split_at_checked(1).ok_or("empty reply line")?;
    match kind {
        "+" => Ok(Resp::Simple(rest.to_string())),
        "-" => Ok(Resp::Error(rest.to_string())),
        ":" => rest.parse().map(Resp::Integer).map_err(|e| format!("bad integer {rest:?}: {e}")),
        "$" if rest == "-1" => Ok(Resp::Bulk(None)),
        "$" => {
            let len: usize = rest.parse().map_err(|e| format!("bad length {rest:?}: {e}"))?;
            let mut data = vec![0; len + 2];
            reader.read_exact(&mut data).map_err(|e| format!("bulk of {len} bytes: {e}"))?;
            if !data.ends_with(b"\r\n") {
                return Err(format!("bulk of {len} bytes not followed by CRLF"));
            }
            data.truncate(len);
            Ok(Resp::Bulk(Some(data)))
        }
        _ => Err(format!("unexpected reply type in {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_200_reply_gives_its_body_checked_against_content_length() {
        let reply = b"HTTP/1.1 200 OK\r\nServer: x\r\ncontent-length: 3\r\n\r\nabc";
        assert_eq!(parse_http_reply(reply), Ok(&b"abc"[..]));
        let no_length = b"HTTP/1.0 200 OK\r\n\r\nabcdef";
        assert_eq!(parse_http_reply(no_length), Ok(&b"abcdef"[..]));
    }

    #[test]
    fn short_bodies_other_statuses_and_cut_headers_are_errors() {
        let short = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc";
        assert!(parse_http_reply(short).unwrap_err().contains("Content-Length 5 but 3"));
        let missing = b"HTTP/1.0 404 Not Found\r\n\r\n";
        assert!(parse_http_reply(missing).unwrap_err().contains("not 200"));
        assert!(parse_http_reply(b"HTTP/1.0 200 OK\r\n").unwrap_err().contains("no end"));
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            encode_command(&["SET", "k", "vv"]),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n"
        );
    }

    #[test]
    fn replies_of_each_kind_parse() {
        let mut input: &[u8] = b"+OK\r\n-ERR no\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n$2\r\nabX\r\n";
        assert_eq!(read_reply(&mut input), Ok(Resp::Simple("OK".into())));
        assert_eq!(read_reply(&mut input), Ok(Resp::Error("ERR no".into())));
        assert_eq!(read_reply(&mut input), Ok(Resp::Integer(42)));
        assert_eq!(read_reply(&mut input), Ok(Resp::Bulk(Some(b"he\r\no".to_vec()))));
        assert_eq!(read_reply(&mut input), Ok(Resp::Bulk(None)));
        assert!(read_reply(&mut input).unwrap_err().contains("not followed by CRLF"));
    }

    #[test]
    fn the_file_server_serves_its_file_and_404s_the_rest() {
        let server = FileServer::start("payload.bin", b"0123456789".to_vec()).unwrap();
        assert_eq!(http_get(server.port(), "/payload.bin").unwrap(), b"0123456789");
        assert!(http_get(server.port(), "/other").unwrap_err().contains("404"));
        assert_eq!(server.served(), 1);
    }
}
