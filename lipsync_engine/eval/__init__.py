"""`lipsync eval`: measures of lip-sync quality on held-out speakers, the run over generators, the report."""
from lipsync_engine.eval.runner import EvalConfig, evaluate_generator, summarise
from lipsync_engine.eval.suite import SuiteConfig, run_suite

__all__ = ["EvalConfig", "SuiteConfig", "evaluate_generator", "run_suite", "summarise"]
