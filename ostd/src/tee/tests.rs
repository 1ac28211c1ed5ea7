//! The platform surface under the simulated TEE (`tee=sim`; the harness runs this module
//! with it): measurement registers, and reports the verifier accepts.

use alloc::string::String;

use super::*;

fn sim_or_skip(test: &str) -> bool {
    let sim = platform() == Platform::Sim;
    if !sim {
        crate::early_println!("ktest {test}: skipped: needs tee=sim");
    }
    sim
}

/// As [`sim_or_skip`], and the registers on (not `sim.registers=none`).
fn sim_registers_or_skip(test: &str) -> bool {
    let on = sim_or_skip(test) && has_runtime_registers();
    if platform() == Platform::Sim && !on {
        crate::early_println!("ktest {test}: skipped: sim.registers=none");
    }
    on
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| alloc::format!("{b:02x}")).collect()
}

crate::ktest! {
    fn measurement_registers_follow_the_rtmr_extend_rule() {
        if !sim_registers_or_skip("measurement_registers_follow_the_rtmr_extend_rule") {
            return;
        }
        let index = MrIndex::new(3).unwrap();
        let before = measurement_registers().unwrap();
        extend_measurement(index, &[0x5a; 48]).unwrap();
        let after = measurement_registers().unwrap();
        assert_eq!(after[3], tee_abi::sim::extend(&before[3], &[0x5a; 48]));
        assert_eq!(after[..3], before[..3], "only register 3 moved");
        assert!(MrIndex::new(4).is_none());
    }

    fn a_sim_report_binds_the_report_data_and_the_registers() {
        if !sim_registers_or_skip("a_sim_report_binds_the_report_data_and_the_registers") {
            return;
        }
        let data: [u8; 64] = core::array::from_fn(|i| i as u8);
        // Register 1: register 2 is the kernel's measured boot (kernel/src/attest/measure.rs),
        // whose log must replay to it, and the test above moves register 3.
        extend_measurement(MrIndex::new(1).unwrap(), &[0x11; 48]).unwrap();
        let bytes = report(&data).unwrap();
        let parsed = tee_abi::sim::parse(&bytes).unwrap();
        assert_eq!(parsed.body.report_data, data);
        assert_eq!(parsed.body.registers, Some(measurement_registers().unwrap()));
        let quote = quote(&data).unwrap();
        assert_eq!(quote.evidence, bytes, "the sim's quote is its signed report");
        assert!(quote.certificates.is_none());
        // The host checks this one with `attest verify --allow-sim` (tests/src/sim_evidence.rs).
        crate::early_println!("sim-evidence report {}", hex(&bytes));
        crate::early_println!("sim-evidence registers {}", hex(parsed.body.registers.unwrap().as_flattened()));
    }

    fn without_registers_the_sim_plays_snp_refuses_extends_and_reports_in_snp_s_layout() {
        if !sim_or_skip("without_registers_the_sim_plays_snp_refuses_extends_and_reports_in_snp_s_layout")
            || has_runtime_registers()
        {
            return;
        }
        assert!(sim_plays_snp());
        let refused = extend_measurement(MrIndex::new(1).unwrap(), &[0x11; 48]);
        assert!(matches!(refused, Err(TeeError::Unsupported { .. })));
        assert!(matches!(measurement_registers(), Err(TeeError::Unsupported { .. })));
        let data = [0x42; 64];
        let bytes = report(&data).unwrap();
        // The layout's offsets (tee_abi::sim_snp; the host tests parse it with `tee::snp`).
        assert_eq!(bytes.len(), tee_abi::sim_snp::REPORT_LEN);
        assert_eq!((&bytes[0x50..0x90], &bytes[0x30..0x34]), (&data[..], &[0u8; 4][..]));
        // Any of SNP's four VMPLs, as the PSP serves them; a fifth is refused.
        let at_3 = quote_at(&data, 3).unwrap().evidence;
        assert_eq!(&at_3[0x30..0x34], &3u32.to_le_bytes());
        assert!(matches!(quote_at(&data, 4), Err(TeeError::Unsupported { .. })));
    }

    fn unaccepted_memory_is_accepted_a_chunk_at_a_time_as_it_is_handed_out() {
        if !sim_or_skip("unaccepted_memory_is_accepted_a_chunk_at_a_time_as_it_is_handed_out") {
            return;
        }
        let (accepted_at_start, chunks) = sim_acceptance();
        if chunks == 0 {
            crate::early_println!("ktest: skipped: needs sim.unaccepted=MiB");
            return;
        }
        assert!(accepted_at_start < chunks, "boot accepted all {chunks} chunks up front");
        let pending_at_start = crate::mm::unaccepted_bytes();
        // Take frames until the allocator has reached fresh unaccepted memory; every frame
        // it hands out passes the sim's release-build "was it accepted" check on the way.
        let mut frames = alloc::vec::Vec::new();
        while sim_acceptance().0 == accepted_at_start && frames.len() < 200_000 {
            match crate::mm::Frame::alloc_zeroed() {
                Some(frame) => frames.push(frame),
                None => break,
            }
        }
        let (accepted, _) = sim_acceptance();
        assert!(accepted > accepted_at_start, "no chunk was accepted after {} frames", frames.len());
        assert_eq!(
            crate::mm::unaccepted_bytes(),
            pending_at_start - (accepted - accepted_at_start) * (2 << 20),
            "the allocator's bitmap and the platform disagree on what was accepted"
        );
        crate::early_println!(
            "ktest: {accepted_at_start} of {chunks} chunks accepted at boot, {accepted} after {} frames",
            frames.len()
        );
    }
}
