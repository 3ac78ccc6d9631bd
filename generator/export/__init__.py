"""Routing configurations for gateways, written from the decisions and escalation chains."""
