"""Contributions from other people and other machines: run submissions and the CI that checks them."""
