"""A local stand-in for WeCom: a real HTTP qyapi server plus a callback sender.

Tests, benchmarks and ``wecom-hr demo`` talk to it over HTTP exactly as they would to qyapi.
"""

from wecom_hr.simulator.journal import Call
from wecom_hr.simulator.seed import SeedResult, seed_bulk, seed_company
from wecom_hr.simulator.sender import CallbackSender
from wecom_hr.simulator.simulator import Simulator

__all__ = ["Call", "CallbackSender", "SeedResult", "Simulator", "seed_bulk", "seed_company"]
