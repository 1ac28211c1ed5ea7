# Python workout for the Debian image (run by tests/ref/debian-workload.sh): threads, subprocess, multiprocessing, json, hashlib,
# a 50 MB buffer, fork/wait with signals. Deterministic output only.
import hashlib, json, multiprocessing, os, queue, signal, subprocess, sys, threading, time

q = queue.Queue()
def produce(n):
    for i in range(n):
        q.put(i * i)
threads = [threading.Thread(target=produce, args=(250,)) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
total = 0
while not q.empty():
    total += q.get()
print("threads+queue sum", total)

out = subprocess.run("printf 'b\\na\\nc\\n' | sort | head -n 2", shell=True, capture_output=True, text=True)
print("shell pipeline", out.stdout.split(), out.returncode)
p1 = subprocess.Popen(["printf", "x\\ny\\nz\\n"], stdout=subprocess.PIPE)
p2 = subprocess.Popen(["wc", "-l"], stdin=p1.stdout, stdout=subprocess.PIPE)
p1.stdout.close()
print("Popen pipeline", p2.communicate()[0].decode().strip(), p1.wait())
print("exit code", subprocess.call(["sh", "-c", "exit 7"]))

with multiprocessing.Pool(2) as pool:
    print("pool", pool.map(abs, [-1, -2, 3, -4]))

print("json", json.dumps({"b": [1, 2.5, "x"], "a": None}, sort_keys=True))
print("sha256", hashlib.sha256(b"cocoon" * 10000).hexdigest())
buf = bytearray(50 * 1024 * 1024)
buf[::4096] = b"x" * (len(buf) // 4096)
print("50 MB buffer", len(buf), buf.count(b"x"), hashlib.md5(buf).hexdigest())

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    # Block first, then wait: no window where the signal could come before the wait.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    os.write(w, b"ready\n")
    info = signal.sigwaitinfo({signal.SIGUSR1})
    os.write(w, f"got {signal.Signals(info.si_signo).name} from parent {info.si_pid == os.getppid()}\n".encode())
    os._exit(3)
os.close(w)
with os.fdopen(r) as f:
    print("child says", f.readline().strip())
    os.kill(pid, signal.SIGUSR1)
    print("child says", f.readline().strip())
_, status = os.waitpid(pid, 0)
print("child exit", os.WEXITSTATUS(status))
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
print("killed by", signal.Signals(os.WTERMSIG(status)).name)
