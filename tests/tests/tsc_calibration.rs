//! TSC calibration's decisions (`ostd/src/time/calibrate.rs`), tested on the host: which
//! measurement windows to believe, and which clock source wins.
#![forbid(unsafe_code)]

#[allow(dead_code, reason = "the kernel uses parts of this file that these tests do not")]
#[path = "../../ostd/src/time/calibrate.rs"]
mod calibrate;

use calibrate::*;

const PIT: Reference = Reference { hz: 1_193_182, wrap: 1 << 16 };
const PM_TIMER: Reference = Reference { hz: 3_579_545, wrap: 1 << 24 };
const TRUE_HZ: u64 = 2_600_000_000;

/// A clean 2 ms window against `r` at `hz`: tight brackets, polls 1 µs apart.
fn window(r: Reference, hz: u64) -> Window {
    let ticks = r.hz / 500;
    let tsc = (u128::from(ticks) * u128::from(hz) / u128::from(r.hz)) as u64;
    Window { tsc, ticks, bracket: hz / 1_000_000, max_gap: hz / 1_000_000 }
}

fn measured(hz: u64) -> Option<Result<Estimate, Rejection>> {
    Some(Ok(Estimate { hz, accepted: 7, taken: 7, spread_ppm: 100 }))
}

mod windows {
    use super::*;

    #[test]
    fn clean_windows_give_their_median() {
        let ws: Vec<Window> = [0, 10, -10, 20, -20]
            .iter()
            .map(|d| window(PIT, (TRUE_HZ as i64 + d * 100_000) as u64))
            .collect();
        let e = estimate(&ws, PIT).unwrap();
        assert!(e.hz.abs_diff(TRUE_HZ) < 10_000, "{e:?}");
        assert_eq!((e.accepted, e.taken), (5, 5));
        assert!(e.spread_ppm > 1_400 && e.spread_ppm < 1_600, "{e:?}");
    }

    #[test]
    fn a_preemption_that_hides_a_pit_wrap_is_rejected() {
        // The busy-host bug: the vCPU was descheduled for 1.6 s inside a PIT window, the
        // 16-bit count wrapped ~29 times unseen, and the window claimed 208,783 MHz.
        let mut ws = vec![window(PIT, TRUE_HZ); 5];
        ws[2].tsc += TRUE_HZ * 16 / 10;
        ws[2].max_gap = TRUE_HZ * 16 / 10;
        let e = estimate(&ws, PIT).unwrap();
        assert_eq!(e.hz, ws[0].hz(PIT).unwrap());
        assert_eq!(e.accepted, 4);
    }

    #[test]
    fn a_lost_wrap_is_rejected_even_when_the_gap_looks_short() {
        // Two windows lost one wrap each (gap just under the half-wrap limit at the
        // provisional rate, so only the vote catches them).
        let mut ws = vec![window(PIT, TRUE_HZ); 5];
        for w in &mut ws[..2] {
            w.tsc += TRUE_HZ * 65_536 / PIT.hz;
        }
        let e = estimate(&ws, PIT).unwrap();
        assert_eq!(e.accepted, 3);
        assert_eq!(e.hz, ws[4].hz(PIT).unwrap());
    }

    #[test]
    fn a_preemption_between_polls_is_harmless_when_the_counter_cannot_wrap() {
        // 50 ms descheduled in a PM-timer window: both clocks ran on, the 24-bit counter
        // (4.7 s) did not wrap, so the window is kept and correct.
        let mut w = window(PM_TIMER, TRUE_HZ);
        w.tsc += TRUE_HZ / 20;
        w.ticks += PM_TIMER.hz / 20;
        w.max_gap = TRUE_HZ / 20;
        let e =
            estimate(&[w, window(PM_TIMER, TRUE_HZ), window(PM_TIMER, TRUE_HZ)], PM_TIMER).unwrap();
        assert_eq!(e.accepted, 3);
    }

    #[test]
    fn a_stretched_endpoint_read_is_rejected() {
        let mut ws = vec![window(PM_TIMER, TRUE_HZ); 4];
        ws[1].bracket = ws[1].tsc / 100; // 1% of the window spent reading one endpoint
        ws[1].tsc = ws[1].tsc * 3 / 2;
        let e = estimate(&ws, PM_TIMER).unwrap();
        assert_eq!((e.accepted, e.taken), (3, 4));
        assert_eq!(e.spread_ppm, 0);
    }

    #[test]
    fn stretched_windows_do_not_vote_so_three_good_of_sixteen_suffice() {
        // A busy host: most endpoint reads were preempted, and their windows say nothing.
        let mut ws = vec![window(PM_TIMER, TRUE_HZ); MAX_WINDOWS];
        for w in &mut ws[3..] {
            w.bracket = w.tsc / 2;
            w.tsc /= 3;
        }
        let e = estimate(&ws, PM_TIMER).unwrap();
        assert_eq!((e.accepted, e.taken), (3, 16));
        assert_eq!(e.hz, ws[0].hz(PM_TIMER).unwrap());
    }

    #[test]
    fn a_bracket_of_a_thousandth_of_the_window_is_still_tight() {
        assert!(is_tight(1_000, 1_000_000));
        assert!(!is_tight(1_001, 1_000_000));
        assert!(is_tight(0, 0));
        assert!(!is_tight(u64::MAX, u64::MAX / 2));
    }

    #[test]
    fn windows_outside_100_mhz_to_10_ghz_are_rejected() {
        let ws =
            [window(PIT, 50_000_000), window(PIT, 20_000_000_000), window(PIT, 30_000_000_000)];
        assert_eq!(estimate(&ws, PIT), Err(Rejection::TooFewGood { accepted: 0, taken: 3 }));
    }

    #[test]
    fn disagreeing_windows_without_a_majority_are_rejected() {
        let ws = [
            window(PIT, 2_000_000_000),
            window(PIT, 2_000_000_000),
            window(PIT, 3_000_000_000),
            window(PIT, 3_000_000_000),
        ];
        assert!(matches!(estimate(&ws, PIT), Err(Rejection::TooFewGood { .. })));
    }

    #[test]
    fn fewer_than_three_good_windows_are_not_enough() {
        let mut ws = vec![window(PIT, TRUE_HZ); 4];
        ws[0].bracket = ws[0].tsc;
        ws[1].bracket = ws[1].tsc;
        assert_eq!(estimate(&ws, PIT), Err(Rejection::TooFewGood { accepted: 2, taken: 4 }));
    }

    #[test]
    fn zero_reference_ticks_and_absurd_counts_do_not_panic() {
        let zero = Window { tsc: u64::MAX, ticks: 0, bracket: 0, max_gap: u64::MAX };
        let huge = Window { tsc: u64::MAX, ticks: 1, bracket: 0, max_gap: 0 };
        assert!(estimate(&[zero, huge, zero], PIT).is_err());
        assert_eq!(estimate(&[], PIT), Err(Rejection::NoWindows));
        assert_eq!(
            estimate(&[zero; MAX_WINDOWS + 1], PIT),
            Err(Rejection::TooManyWindows(MAX_WINDOWS + 1))
        );
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        assert_eq!(median(&mut [u64::MAX, u64::MAX]), Some(u64::MAX));
        assert_eq!(median(&mut [3, 1, 2]), Some(2));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn combine_honours_its_bounds() {
        let rates = [Some(62_500_000), Some(62_400_000), None, Some(62_600_000), Some(5)];
        let e = combine(&rates, 100_000..=1_000_000_000).unwrap();
        assert_eq!((e.hz, e.accepted, e.taken), (62_500_000, 3, 5));
    }
}

mod choice {
    use super::*;

    #[test]
    fn the_tee_vouched_frequency_wins_over_everything() {
        let c = choose(&Inputs {
            tee: Some(2_100_000_000),
            cpuid15: Some(TRUE_HZ),
            pit: measured(TRUE_HZ),
            ..Inputs::default()
        });
        assert_eq!((c.hz, c.source), (2_100_000_000, Source::Tee));
    }

    #[test]
    fn cpuid_0x15_wins_over_a_measurement_that_roughly_agrees() {
        let c = choose(&Inputs {
            cpuid15: Some(TRUE_HZ),
            pit: measured(TRUE_HZ + TRUE_HZ / 50),
            ..Inputs::default()
        });
        assert_eq!((c.hz, c.source), (TRUE_HZ, Source::Cpuid15));
        assert_eq!(c.checks[0], Some(CrossCheck { source: Source::Pit, deviation_ppm: 20_000 }));
    }

    #[test]
    fn a_measurement_overrides_cpuid_0x15_that_is_off_by_more_than_10_percent() {
        let c = choose(&Inputs {
            cpuid15: Some(TRUE_HZ * 2),
            pm_timer: measured(TRUE_HZ),
            ..Inputs::default()
        });
        assert_eq!((c.hz, c.source), (TRUE_HZ, Source::PmTimer));
    }

    #[test]
    fn agreeing_references_outvote_a_better_one() {
        let c = choose(&Inputs {
            hpet: measured(TRUE_HZ * 3),
            pm_timer: measured(TRUE_HZ),
            pit: measured(TRUE_HZ + 1_000),
            ..Inputs::default()
        });
        assert_eq!((c.hz, c.source), (TRUE_HZ, Source::PmTimer));
    }

    #[test]
    fn agreement_means_within_one_percent() {
        assert!(agree(TRUE_HZ, TRUE_HZ + TRUE_HZ / 100));
        assert!(!agree(TRUE_HZ, TRUE_HZ + TRUE_HZ / 100 + 100_000));
        assert!(!agree(0, 1));
    }

    #[test]
    fn ties_go_to_the_hpet_then_the_pm_timer() {
        let all = Inputs {
            hpet: measured(TRUE_HZ),
            pm_timer: measured(TRUE_HZ + 1),
            pit: measured(TRUE_HZ + 2),
            ..Inputs::default()
        };
        assert_eq!(choose(&all).source, Source::Hpet);
        let split = Inputs {
            hpet: None,
            pm_timer: measured(TRUE_HZ * 2),
            pit: measured(TRUE_HZ),
            ..Inputs::default()
        };
        assert_eq!(choose(&split).source, Source::PmTimer);
    }

    #[test]
    fn failed_and_insane_sources_are_skipped() {
        let c = choose(&Inputs {
            tee: Some(5),
            cpuid15: Some(u64::MAX),
            hpet: Some(Err(Rejection::Unavailable)),
            pit: measured(TRUE_HZ),
            ..Inputs::default()
        });
        assert_eq!((c.hz, c.source), (TRUE_HZ, Source::Pit));
        assert_eq!(c.checks, [None; 5]);
    }

    #[test]
    fn cpuid_0x16_is_the_last_resort_and_then_an_assumption() {
        let c = choose(&Inputs {
            cpuid16: Some(2_000_000_000),
            pit: Some(Err(Rejection::NoWindows)),
            ..Inputs::default()
        });
        assert_eq!((c.hz, c.source), (2_000_000_000, Source::Cpuid16));
        let c = choose(&Inputs::default());
        assert_eq!((c.hz, c.source), (ASSUMED_HZ, Source::Assumed));
    }

    #[test]
    fn the_banner_names_the_winner_its_windows_and_the_cross_checks() {
        let e = Estimate { hz: 2_601_234_567, accepted: 5, taken: 7, spread_ppm: 1_049 };
        let c =
            choose(&Inputs { pit: Some(Ok(e)), cpuid16: Some(2_600_000_000), ..Inputs::default() });
        assert_eq!(
            c.to_string(),
            "2601 MHz (PIT, 5/7 windows, spread 0.10%; CPUID 0x16 base -0.05%)"
        );
        let c = choose(&Inputs { cpuid15: Some(TRUE_HZ), ..Inputs::default() });
        assert_eq!(c.to_string(), "2600 MHz (CPUID 0x15)");
    }
}

mod scale {
    use super::*;
    use proptest::prelude::*;

    fn exact(ticks: u64, hz: u64) -> u64 {
        (u128::from(ticks) * 1_000_000_000 / u128::from(hz)) as u64
    }

    #[test]
    fn one_second_of_ticks_is_one_second() {
        for hz in [MIN_TSC_HZ, 1_000_000_000, TRUE_HZ, 3_000_000_007, MAX_TSC_HZ] {
            let ns = TscScale::new(hz).ns(hz);
            assert!((999_999_999..=1_000_000_000).contains(&ns), "{hz} Hz: {ns}");
        }
    }

    #[test]
    fn frequencies_out_of_range_are_clamped() {
        assert_eq!(TscScale::new(0), TscScale::new(MIN_TSC_HZ));
        assert_eq!(TscScale::new(u64::MAX), TscScale::new(MAX_TSC_HZ));
    }

    proptest! {
        #[test]
        fn never_above_exact_and_close_below(
            hz in MIN_TSC_HZ..=MAX_TSC_HZ,
            ticks in 0u64..(1 << 56),
        ) {
            let got = TscScale::new(hz).ns(ticks);
            let want = exact(ticks, hz);
            prop_assert!(got <= want, "{got} > {want}");
            prop_assert!(want - got <= (ticks >> 40) + 1, "{got} vs {want}");
        }

        #[test]
        // Up to 2^60 ticks: at least 3.6 years at the highest frequency, whose nanoseconds
        // still fit in 64 bits at the lowest.
        fn monotonic(hz in MIN_TSC_HZ..=MAX_TSC_HZ, a in 0u64..(1 << 60), b in 0u64..(1 << 60)) {
            let s = TscScale::new(hz);
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(s.ns(lo) <= s.ns(hi));
        }
    }
}
