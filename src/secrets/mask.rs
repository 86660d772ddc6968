//! Masking of events: what sits between the engine's events and the reporters.
//! Every field of a report that a file, a server or a secret can reach is masked
//! here, so that no reporter has to remember one.

use std::sync::Arc;

use super::Redactor;
use crate::events::{Event, ScenarioReport, StepReport};

/// Mask every text of `e` with the secrets known now.
pub fn mask_event(e: &mut Event, r: &Redactor) {
    match e {
        Event::RunStarted(info) => r.scrub_in_place(&mut info.target),
        Event::ScenarioStarted { name, .. } => r.scrub_in_place(name),
        Event::StepFinished { step, .. } => scrub_step(step, r),
        Event::ScenarioFinished(s) => mask_shared(s, r),
        Event::Notice(text) => r.scrub_in_place(text),
    }
}

/// Mask a scenario's report unless it was masked with every secret known now: a secret
/// first seen late in the run (a header of a later step) may sit in a report kept
/// since, and a file report must not carry it.
pub fn mask_scenario(s: &mut ScenarioReport, r: &Redactor) {
    // Read before masking: a secret added meanwhile makes the next call mask again.
    let generation = r.generation();
    if s.masked_with != Some(generation) {
        scrub_scenario(s, r);
        s.masked_with = Some(generation);
    }
}

/// [`mask_scenario`] for a report that reporters share: copied only when it must change.
pub fn mask_shared(s: &mut Arc<ScenarioReport>, r: &Redactor) {
    if s.masked_with != Some(r.generation()) {
        mask_scenario(Arc::make_mut(s), r);
    }
}

fn scrub_scenario(s: &mut ScenarioReport, r: &Redactor) {
    r.scrub_in_place(&mut s.name);
    if let Some(m) = s.message.as_mut() {
        r.scrub_in_place(m);
    }
    for st in s.steps.iter_mut() {
        scrub_step(st, r);
    }
    // Earlier attempts quote what their steps saw, secrets included.
    for a in s.previous_attempts.iter_mut() {
        r.scrub_in_place(&mut a.message);
        r.scrub_in_place(&mut a.location);
    }
}

fn scrub_step(st: &mut StepReport, r: &Redactor) {
    r.scrub_in_place(&mut st.name);
    if let Some(m) = st.message.as_mut() {
        r.scrub_in_place(m);
    }
    for f in st.failures.iter_mut().chain(st.passed.iter_mut()) {
        r.scrub_in_place(&mut f.subject);
        r.scrub_in_place(&mut f.expected);
        r.scrub_in_place(&mut f.actual);
    }
    for a in st.failed_attempts.iter_mut() {
        r.scrub_in_place(a);
    }
    let hops = st
        .redirects
        .iter_mut()
        .map(|h| (Some(&mut h.request), Some(&mut h.response)));
    for (req, resp) in hops.chain(std::iter::once((st.request.as_mut(), st.response.as_mut()))) {
        if let Some(req) = req {
            r.scrub_in_place(&mut req.url);
            // Names too: a server may echo a secret as a header name.
            for (k, v) in req.headers.iter_mut() {
                r.scrub_in_place(k);
                r.scrub_in_place(v);
            }
            if let Some(b) = req.body.as_mut() {
                r.scrub_in_place(b);
            }
        }
        if let Some(resp) = resp {
            for (k, v) in resp.headers.iter_mut() {
                r.scrub_in_place(k);
                r.scrub_in_place(v);
            }
            // A body cut by --max-body may end in the first bytes of a secret.
            r.scrub_in_place_cut(&mut resp.body, resp.truncated);
        }
    }
    if let Some(d) = st.delivery.as_mut() {
        for (k, v) in d.headers.iter_mut() {
            r.scrub_in_place(k);
            r.scrub_in_place(v);
        }
        r.scrub_in_place_cut(&mut d.body, d.truncated);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::Outcome;

    #[test]
    fn a_scenario_is_masked_again_only_after_a_new_secret() {
        let r = Redactor::new();
        r.add("alpha-4a1f-9c2e-77d0");
        let mut s = ScenarioReport::new(
            0,
            "uses alpha-4a1f-9c2e-77d0 and omega-b3c5-1e08-aa42",
            "a.yaml",
            Outcome::Passed,
        );
        s.previous_attempts.push(crate::events::Attempt {
            outcome: Outcome::Failed,
            message: "step 1 \"x\": $.token: expected 1, got alpha-4a1f-9c2e-77d0".into(),
            location: "a.yaml:3".into(),
            duration: Duration::ZERO,
        });
        mask_scenario(&mut s, &r);
        assert_eq!(s.name, "uses *** and omega-b3c5-1e08-aa42");
        assert_eq!(
            s.previous_attempts[0].message, "step 1 \"x\": $.token: expected 1, got ***",
            "an earlier attempt is masked like the rest"
        );
        let seen = s.masked_with;
        r.add("alpha-4a1f-9c2e-77d0");
        assert_eq!(
            r.generation(),
            seen.unwrap_or(0),
            "a known secret changes nothing"
        );
        // Unmasked text planted after masking shows the pass is skipped...
        s.name.push_str(" alpha-4a1f-9c2e-77d0");
        mask_scenario(&mut s, &r);
        assert!(s.name.ends_with(" alpha-4a1f-9c2e-77d0"), "{}", s.name);
        // ...until a new secret is learnt: then everything is masked again.
        r.add("omega-b3c5-1e08-aa42");
        mask_scenario(&mut s, &r);
        assert_eq!(s.name, "uses *** and *** ***");
    }
}
