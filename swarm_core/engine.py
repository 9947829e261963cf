"""The engine every face runs: review, council and issue spec, built once from provider keys and memory.

The App, the Action and the CLI used to write out the same three closures, each reading
provider keys from the environment per job. A face now reads its environment once,
holds the keys as `ProviderKeys` and calls `build_engine`; the handlers see the engine
only through the `Reviewer`, `Councillor` and `Specifier` protocols.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import SecretStr

from swarm_core.analyzers import AdvisoryCache
from swarm_core.changeset import ChangeSet
from swarm_core.config import SwarmConfig
from swarm_core.conversation import Answer, Question, answer_question
from swarm_core.council import CouncilResult, convene
from swarm_core.issue.index import RepoIndex
from swarm_core.issue.localize import Localization
from swarm_core.issue.spec import FixSpec, specify_with
from swarm_core.issue.symptoms import Intake
from swarm_core.memory import MemoryBackend
from swarm_core.models import Review
from swarm_core.orchestrator import Orchestrator, ProgressCallback
from swarm_core.providers import KNOWN_PROVIDERS, Endpoint, ProviderPool, endpoints_from_env, env_names
from swarm_core.router import ModelTable
from swarm_core.walkthrough import Walkthrough, describe_change

__all__ = [
    "Answerer",
    "Councillor",
    "Describer",
    "Engine",
    "ProviderKeys",
    "Reviewer",
    "Specifier",
    "build_engine",
]

# Keys shorter than this are not real credentials; redacting them would mangle ordinary text.
_MIN_SECRET = 8


# Keys, base URLs and the local servers' settings (LLAMACPP_MAX_TOKENS, ...): every name the
# providers read. (Keys and base URLs alone dropped the local settings the README documents.)
PROVIDER_ENV_NAMES = env_names()


@dataclass(frozen=True)
class ProviderKeys:
    """Provider keys and base URLs under the names each provider documents (OPENAI_API_KEY, ...)."""

    values: Mapping[str, SecretStr] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> ProviderKeys:
        """Keep the provider variables of an environment a face read; everything else is dropped."""
        return cls(
            {name: SecretStr(value) for name, value in env.items() if name in PROVIDER_ENV_NAMES and value}
        )

    def endpoints(self) -> dict[str, Endpoint]:
        """Every known provider's endpoint with these keys and base URLs."""
        return endpoints_from_env({name: value.get_secret_value() for name, value in self.values.items()})

    def pool(self) -> ProviderPool:
        """A fresh provider pool: each call owns its HTTP client and closes it when done."""
        return ProviderPool(self.endpoints())

    def secrets(self) -> frozenset[str]:
        """The key values, for the log redaction filter (base URLs are not secret)."""
        keys = {known.key_env for known in KNOWN_PROVIDERS.values() if known.key_env}
        values = (v.get_secret_value() for name, v in self.values.items() if name in keys)
        return frozenset(v for v in values if len(v) >= _MIN_SECRET)

    def internal_urls(self) -> list[str]:
        """Base URLs the operator configured (a self-hosted model, a proxy): not for PR readers."""
        return [ep.base_url for ep in self.endpoints().values() if ep.configured]


class Reviewer(Protocol):
    """Review a change; `models=False` when the installation's model budget is spent."""

    async def __call__(self, config: SwarmConfig, change: ChangeSet, *, models: bool = True) -> Review:
        """The review of `change` under `config`."""
        ...


class Councillor(Protocol):
    """Convene a council on a question (`kind` is "pr" or "open")."""

    async def __call__(self, config: SwarmConfig, question: str, context: str, kind: str) -> CouncilResult:
        """The members' judgement and the verdict."""
        ...


class Answerer(Protocol):
    """Answer a question about a change (`/swarm ask`, a reply in swarm's review thread)."""

    async def __call__(self, config: SwarmConfig, question: Question, change: ChangeSet) -> Answer:
        """The answer; raises ModelSelectionError when no model is configured."""
        ...


class Describer(Protocol):
    """The walkthrough of a change; `models=False` for the deterministic part only."""

    async def __call__(self, config: SwarmConfig, change: ChangeSet, *, models: bool = True) -> Walkthrough:
        """The walkthrough."""
        ...


class Specifier(Protocol):
    """Turn an analysed issue into a fix specification; None when no model is configured."""

    async def __call__(
        self,
        intake: Intake,
        text: str,
        loc: Localization,
        index: RepoIndex,
        config: SwarmConfig,
        trace: bool,
        repro: bool,
    ) -> FixSpec | None:
        """The specification, or None."""
        ...


class Engine:
    """Review, council and issue spec over one set of provider keys, a default model and memory.

    Args:
        keys: provider keys and base URLs, read once by the face.
        model: the default `provider/model` (SWARM_MODEL); None lets the router choose.
        memory: swarm memory for the review's lanes (None: lanes run without it).
        table: the model table (None: the built-in one).
        advisory_cache: where OSV's answers are kept between reviews (None: not kept).
    """

    def __init__(
        self,
        keys: ProviderKeys,
        *,
        model: str | None = None,
        memory: MemoryBackend | None = None,
        table: ModelTable | None = None,
        advisory_cache: AdvisoryCache | None = None,
    ) -> None:
        self.keys = keys
        self.model = model
        self.memory = memory
        self.table = table
        self.advisory_cache = advisory_cache

    async def review(
        self,
        config: SwarmConfig,
        change: ChangeSet,
        *,
        models: bool = True,
        on_event: ProgressCallback | None = None,
    ) -> Review:
        """Review a change; with `models=False` only the deterministic lanes run.

        Args:
            config: the run's config (the repository's, with any overrides merged).
            change: what to review.
            models: False when no model may be called (`--no-llm`, a spent budget).
            on_event: progress events as stages and lanes start and finish (the CLI's display).

        Returns:
            The review; lane and analyzer failures are recorded in it, never raised.
        """
        if not models:
            return await Orchestrator(config, table=self.table, advisory_cache=self.advisory_cache).review(
                change, on_event
            )
        orch = Orchestrator(
            config,
            model=self.model,
            providers=self.keys.pool(),
            table=self.table,
            memory=self.memory,
            advisory_cache=self.advisory_cache,
        )
        return await orch.review(change, on_event)

    async def council(self, config: SwarmConfig, question: str, context: str, kind: str) -> CouncilResult:
        """Convene a council.

        Raises:
            ModelSelectionError: no model can sit on the council.
        """
        return await convene(
            question, context, config, self.keys.pool(), model=self.model, table=self.table, kind=kind
        )

    async def ask(self, config: SwarmConfig, question: Question, change: ChangeSet) -> Answer:
        """Answer a question about a change.

        Raises:
            ModelSelectionError: no model is configured (the message says how to configure one).
        """
        return await answer_question(
            question, change, config, self.keys.pool(), model=self.model, table=self.table
        )

    async def describe(self, config: SwarmConfig, change: ChangeSet, *, models: bool = True) -> Walkthrough:
        """The walkthrough of a change; with `models=False` (or no model) its deterministic part."""
        pool = self.keys.pool() if models else None
        return await describe_change(change, config, pool, model=self.model, table=self.table)

    async def specify(
        self,
        intake: Intake,
        text: str,
        loc: Localization,
        index: RepoIndex,
        config: SwarmConfig,
        trace: bool,
        repro: bool,
    ) -> FixSpec | None:
        """A fix specification for an analysed issue; None when no model is configured."""
        return await specify_with(
            intake,
            text,
            loc,
            index,
            config,
            self.keys.pool(),
            model=self.model,
            table=self.table,
            trace=trace,
            repro=repro,
        )


def build_engine(
    keys: ProviderKeys,
    *,
    model: str | None = None,
    memory: MemoryBackend | None = None,
    table: ModelTable | None = None,
    advisory_cache: AdvisoryCache | None = None,
) -> Engine:
    """The engine a face runs. Does no I/O: pools and their HTTP clients are made per call.

    Args:
        keys: provider keys and base URLs (`ProviderKeys.from_mapping(environment)`).
        model: the default model (SWARM_MODEL), or None.
        memory: swarm memory for the lanes of a review, or None.
        table: the model table (SWARM_MODELS_FILE in the CLI), or None for the built-in one.
        advisory_cache: OSV's answers kept in the run store (`SqlAdvisoryCache`), or None.

    Returns:
        An `Engine` whose bound `review`, `council`, `ask`, `describe` and `specify` satisfy
        `Reviewer`, `Councillor`, `Answerer`, `Describer` and `Specifier`.
    """
    return Engine(keys, model=model, memory=memory, table=table, advisory_cache=advisory_cache)
