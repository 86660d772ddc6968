//! The `wait_webhook` step: wait for a delivery to the run's receiver, check it as
//! a response, and check the Layers signature it carries.

use std::time::{Duration, Instant};

use super::step::{
    StepCtx, check_and_capture, fail_prepare, interrupted, observe, record_response,
};
use super::webhook::Delivery;
use crate::events::{Assertion, DeliveryRecord, Outcome, Phase, StepReport};
use crate::http::Response;
use crate::scenario::Step;
use crate::scenario::model::WaitWebhook;

pub(super) async fn webhook_step(
    cx: &mut StepCtx<'_>,
    st: &Step,
    phase: Phase,
    w: &WaitWebhook,
    r: &mut StepReport,
) {
    let templates = cx.templates;
    let scope_value = cx.scope.to_value();
    let event = match w
        .event
        .as_ref()
        .map(|e| templates.render_str(e, &scope_value))
        .transpose()
    {
        Ok(e) => e,
        Err(e) => {
            drop(scope_value);
            fail_prepare(cx, st, phase, r, e.into());
            return;
        }
    };
    let secret = match w
        .secret
        .as_ref()
        .map(|s| templates.render_str(s, &scope_value))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            drop(scope_value);
            fail_prepare(cx, st, phase, r, e.into());
            return;
        }
    };
    drop(scope_value);
    if cx.run.options.dry_run {
        r.outcome = Outcome::Skipped;
        r.message = Some("dry run: not waited for".into());
        return;
    }
    if let Some(s) = &secret {
        cx.run.redactor.add(s);
    }
    let Some(receiver) = cx.run.webhooks.as_ref() else {
        r.outcome = Outcome::Error;
        r.message = Some("the webhook receiver is not running".into());
        return;
    };
    let within = w.within.map_or(Duration::from_secs(10), |d| d.0);
    r.attempts = 1;
    let started = Instant::now();
    let soft = cx.run.stop.soft.clone();
    let wait = receiver.wait(cx.index, event.as_deref(), within);
    let delivery = if phase == Phase::Main {
        tokio::select! {
            biased;
            _ = soft.cancelled() => {
                interrupted(r);
                return;
            }
            d = wait => d,
        }
    } else {
        wait.await
    };
    let Some(delivery) = delivery else {
        r.outcome = Outcome::Failed;
        r.failures.push(Assertion {
            subject: "webhook".into(),
            expected: format!(
                "a delivery{} within {}",
                event
                    .as_ref()
                    .map(|e| format!(" of `{e}`"))
                    .unwrap_or_default(),
                crate::http::fmt_duration(within)
            ),
            actual: "none arrived".into(),
        });
        return;
    };
    let resp = Response {
        status: 200,
        // Checked like a response; reported as the delivery it is.
        version: String::new(),
        headers: delivery.headers.clone(),
        body: delivery.body.clone(),
        truncated: false,
        elapsed: started.elapsed(),
        body_problem: None,
        wire_bytes: delivery.body.len(),
    };
    let obs = observe(&resp, "", r);
    let seen = record_response(cx, &resp, &obs.text);
    r.delivery = Some(DeliveryRecord {
        headers: seen.headers,
        body: seen.body,
        body_bytes: seen.body_bytes,
        truncated: seen.truncated,
        after_ms: seen.time_ms,
    });
    check_and_capture(cx, st, &obs, r, None);
    if let Some(secret) = secret {
        check_signature(&delivery, &secret, cx.run.options.record_passes, r);
    }
}

/// The Layers signature of a delivery (`X-Layers-Signature`), checked with the
/// step's `secret` as one more assertion of the step.
fn check_signature(delivery: &Delivery, secret: &str, record_passes: bool, r: &mut StepReport) {
    r.assertions += 1;
    let verdict = match delivery.header("x-layers-signature") {
        Some(h) => super::webhook::verify_signature(h, &delivery.body, secret),
        None => Err("no X-Layers-Signature header".into()),
    };
    let subject = "webhook signature".to_string();
    let expected = "a valid X-Layers-Signature".to_string();
    match verdict {
        Err(why) => {
            r.outcome = Outcome::Failed;
            r.failures.push(Assertion {
                subject,
                expected,
                actual: why,
            });
        }
        Ok(()) if record_passes => r.passed.push(Assertion {
            subject,
            expected,
            actual: "valid".into(),
        }),
        Ok(()) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{KeyInit, Mac};

    fn signed(secret: &str, body: &str) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"1700000000.");
        mac.update(body.as_bytes());
        format!(
            "t=1700000000,v1={}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    fn report() -> StepReport {
        StepReport {
            name: "wait".into(),
            phase: Phase::Main,
            number: 1,
            location: "s.yaml:3".into(),
            outcome: Outcome::Passed,
            message: None,
            failures: Vec::new(),
            passed: Vec::new(),
            request: None,
            response: None,
            delivery: None,
            redirects: Vec::new(),
            failed_attempts: Vec::new(),
            attempts: 1,
            duration: Duration::ZERO,
            assertions: 0,
        }
    }

    #[test]
    fn the_signature_is_one_more_assertion_of_the_step() {
        let body = r#"{"type":"job.completed"}"#;
        // (header, record passes, failed?, passes recorded, what a failure says)
        let table = [
            (Some(signed("s3cret", body)), true, false, 1, ""),
            (Some(signed("s3cret", body)), false, false, 0, ""),
            (
                Some(signed("other", body)),
                true,
                true,
                0,
                "no v1 signature matches",
            ),
            (None, true, true, 0, "no X-Layers-Signature header"),
        ];
        for (header, record, fails, passes, why) in table {
            let delivery = Delivery {
                headers: header
                    .iter()
                    .map(|h| ("X-Layers-Signature".to_string(), h.clone()))
                    .collect(),
                body: bytes::Bytes::from(body),
            };
            let mut r = report();
            check_signature(&delivery, "s3cret", record, &mut r);
            let case = format!("{header:?}, record {record}");
            assert_eq!(r.assertions, 1, "{case}");
            assert_eq!(r.outcome == Outcome::Failed, fails, "{case}");
            assert_eq!(r.passed.len(), passes, "{case}");
            match r.failures.as_slice() {
                [] => assert!(!fails, "{case}"),
                [f] => {
                    assert_eq!(f.subject, "webhook signature", "{case}");
                    assert!(f.actual.contains(why), "{case}: {}", f.actual);
                }
                more => panic!("{case}: {more:?}"),
            }
        }
    }
}
