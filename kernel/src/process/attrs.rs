//! Process attributes that prctl(2) reads and sets, and what fork and execve do to them.

/// The timer slack a process starts with, in nanoseconds (Linux's default).
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;

/// prctl-visible attributes of one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attrs {
    /// PR_SET_KEEPCAPS: keep capabilities across a change away from UID 0.
    pub keep_caps: bool,
    /// PR_SET_DUMPABLE: whether the process may dump core and be inspected.
    pub dumpable: bool,
    /// PR_SET_NO_NEW_PRIVS: execve never grants privileges (set-user-ID bits are ignored).
    pub no_new_privs: bool,
    /// PR_SET_PDEATHSIG: the signal this process gets when its parent exits (0: none).
    pub parent_death_signal: u32,
    /// PR_SET_TIMERSLACK, in nanoseconds: how much later than asked a timed futex wait or a
    /// nanosleep may end, as Linux's hrtimers give it (the timer fires at the end of that
    /// range). Real-time policies, which Linux gives no slack, are refused here.
    pub timer_slack_ns: u64,
    /// personality(2)'s execution domain and flags: recorded and reported, inherited and
    /// kept across execve; none of the flags changes behaviour here (ADDR_NO_RANDOMIZE, which
    /// gdb sets, has nothing to turn off: user address spaces are not randomized).
    pub personality: u32,
    /// PR_SET_CHILD_SUBREAPER: orphaned descendants are handed to this process rather
    /// than to init (not inherited by children).
    pub child_subreaper: bool,
    /// PR_SET_THP_DISABLE: recorded, inherited and kept across execve as Linux keeps it;
    /// there are no transparent huge pages here to disable.
    pub thp_disabled: bool,
    /// The scheduling policy sched_setscheduler chose among the normal ones (SCHED_OTHER,
    /// SCHED_BATCH, SCHED_IDLE: real-time ones are refused). One CPU runs every task in
    /// turn, so it changes no decision; it is reported back and inherited, as Linux does.
    pub sched_policy: u32,
    /// SCHED_RESET_ON_FORK: a child starts without it (and, on Linux, out of a real-time
    /// policy, which never applies here).
    pub sched_reset_on_fork: bool,
}

impl Attrs {
    /// How much later than its deadline a timed futex wait or a nanosleep ends: the timer
    /// slack, but never past the next tick. (Linux's timer fires at the end of its range
    /// unless an earlier timer interrupt, the tick at the latest, finds its start passed; so
    /// a huge PR_SET_TIMERSLACK does not make a sleep endless.)
    pub fn applied_timer_slack_ns(&self) -> u64 {
        let tick_ns = 1_000_000_000 / u64::from(ostd::time::hz().max(1));
        self.timer_slack_ns.min(tick_ns)
    }
}

impl Default for Attrs {
    fn default() -> Self {
        Self {
            keep_caps: false,
            dumpable: true,
            no_new_privs: false,
            parent_death_signal: 0,
            timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
            personality: 0,
            child_subreaper: false,
            thp_disabled: false,
            sched_policy: 0,
            sched_reset_on_fork: false,
        }
    }
}

impl Attrs {
    /// The attributes a forked child starts with: all inherited but the parent-death signal
    /// and being a subreaper.
    pub fn for_child(&self) -> Self {
        Self { parent_death_signal: 0, child_subreaper: false, sched_reset_on_fork: false, ..*self }
    }

    /// What execve resets: keep-caps is cleared and the new image is dumpable again.
    pub fn reset_for_exec(&mut self) {
        self.keep_caps = false;
        self.dumpable = true;
    }
}
