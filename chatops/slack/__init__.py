"""The Slack interface. Import `chatops.slack.app` / `runtime` only where Slack is used: slack_bolt costs ~80 ms."""
