"""The catalog of the 18 danger patterns, in the order of shared/spec/patterns.md.

Each pattern lives in its own module named after it, with its thresholds and
the words people read when it fires.
"""

from __future__ import annotations

from agents.patterns.advisor_exit_risk import AdvisorExitRisk
from agents.patterns.base import Pattern
from agents.patterns.competitor_in_negotiation import CompetitorInNegotiation
from agents.patterns.complaint_unanswered import ComplaintUnanswered
from agents.patterns.contact_person_changed import ContactPersonChanged
from agents.patterns.costly_change_request import CostlyChangeRequest
from agents.patterns.detractor_feedback import DetractorFeedback
from agents.patterns.endless_case import EndlessCase
from agents.patterns.hidden_costs import HiddenCosts
from agents.patterns.innovation_gap import InnovationGap
from agents.patterns.irrelevant_content import IrrelevantContent
from agents.patterns.lead_not_followed_up import LeadNotFollowedUp
from agents.patterns.missing_appreciation import MissingAppreciation
from agents.patterns.new_customer_flooding import NewCustomerFlooding
from agents.patterns.over_communication import OverCommunication
from agents.patterns.post_purchase_dissonance import PostPurchaseDissonance
from agents.patterns.post_sale_abandonment import PostSaleAbandonment
from agents.patterns.silent_lane_change import SilentLaneChange
from agents.patterns.wrong_channel import WrongChannel

PATTERN_TYPES: tuple[type[Pattern], ...] = (
    LeadNotFollowedUp,
    WrongChannel,
    IrrelevantContent,
    OverCommunication,
    ContactPersonChanged,
    CompetitorInNegotiation,
    PostSaleAbandonment,
    PostPurchaseDissonance,
    NewCustomerFlooding,
    MissingAppreciation,
    EndlessCase,
    HiddenCosts,
    CostlyChangeRequest,
    InnovationGap,
    SilentLaneChange,
    ComplaintUnanswered,
    DetractorFeedback,
    AdvisorExitRisk,
)
PATTERN_NAMES: tuple[str, ...] = tuple(pattern.name for pattern in PATTERN_TYPES)
CATALOG_ORDER: dict[str, int] = {name: index for index, name in enumerate(PATTERN_NAMES)}

__all__ = ["CATALOG_ORDER", "PATTERN_NAMES", "PATTERN_TYPES", "Pattern"]
