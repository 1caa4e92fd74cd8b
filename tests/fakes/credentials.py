"""Test credentials the fakes accept. Each contains SECRET so a leak is easy to grep for."""

from __future__ import annotations

from datetime import UTC, datetime

OPENAI_KEY = "sk-test-SECRET-openai-7f3a9c"
TOGETHER_KEY = "tg-test-SECRET-together-5d1e"
ANTHROPIC_KEY = "sk-ant-test-SECRET-anthropic-81b2"
VERTEX_TOKEN = "ya29.test-SECRET-vertex-token"
AWS_KEY_ID = "AKIATESTSECRETKEY0001"
AWS_SECRET = "aws-test-SECRET-signing-key"
ALL_SECRETS = (OPENAI_KEY, TOGETHER_KEY, ANTHROPIC_KEY, VERTEX_TOKEN, AWS_KEY_ID, AWS_SECRET)
# A day when every OpenAI base in the catalogue, o4-mini included, still took new jobs.
BEFORE_RETIREMENTS = datetime(2026, 9, 1, 12, tzinfo=UTC)
