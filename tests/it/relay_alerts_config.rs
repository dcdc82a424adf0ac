//! relay.toml's `[detection]` is config.toml's: same keys, same ranges,
//! same messages (one parser); `[alerts]` is checked at load.

use std::path::Path;

use qualtop::config::Config;
use qualtop::detect::DetectionSettings;
use qualtop::relay::config::RelayConfig;

const BASE: &str = "bucket = \"1m\"\nhistory = \"1h\"\ndimensions = [\"model\"]\n";

fn relay(extra: &str) -> Result<RelayConfig, String> {
    RelayConfig::parse(&format!("{BASE}{extra}"), Path::new("relay.toml"), &|_| {
        None
    })
    .map_err(|e| e.message)
}

#[test]
fn relay_detection_takes_the_same_keys_and_gives_the_same_settings_as_config_toml() {
    let section = "[detection]\nfalse_alarm_days = 90\nmin_change_pp = 2.5\nslo = 99.5\n";
    let cfg = relay(section).unwrap();
    let client = Config::parse(section, Path::new("config.toml")).unwrap();
    assert_eq!(
        cfg.detection,
        DetectionSettings::from_config(client.false_alarm_days, client.min_change_pp, client.slo)
    );
    let defaults = Config::default();
    assert_eq!(
        relay("").unwrap().detection,
        DetectionSettings::from_config(
            defaults.false_alarm_days,
            defaults.min_change_pp,
            defaults.slo
        )
    );
}

#[test]
fn relay_detection_refuses_what_config_toml_refuses_with_the_same_message() {
    for bad in [
        "[detection]\nfalse_alarm_days = 0.5\n",
        "[detection]\nmin_change_pp = 80\n",
        "[detection]\nslo = 100\n",
        "[detection]\nthreshold = 3\n",
    ] {
        let from_relay = relay(bad).unwrap_err();
        let from_client = Config::parse(bad, Path::new("config.toml"))
            .unwrap_err()
            .message;
        // config.toml's parser adds the offending text to serde's own errors.
        assert!(
            from_client.starts_with(&from_relay),
            "{bad}: {from_relay} / {from_client}"
        );
    }
}

#[test]
fn alerts_section_is_checked_at_load() {
    let ok =
        relay("[alerts]\nalertmanager_url = \"http://am:9093/api/v2/alerts\"\nrepeat = \"1m\"\n")
            .unwrap();
    let a = ok.alerts.unwrap();
    assert_eq!(a.alertmanager_url, "http://am:9093/api/v2/alerts");
    assert_eq!(a.repeat, std::time::Duration::from_secs(60));
    let e = relay("[alerts]\nalertmanager_url = \"am:9093\"\n").unwrap_err();
    assert!(e.contains("alerts.alertmanager_url"), "{e}");
    let e = relay("[alerts]\nalertmanager_url = \"http://am\"\nrepeat = \"2h\"\n").unwrap_err();
    assert!(e.contains("alerts.repeat"), "{e}");
    assert!(relay("").unwrap().alerts.is_none());
}
