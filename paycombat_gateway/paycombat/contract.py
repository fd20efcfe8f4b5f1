"""PayCombat's API contract: every path, field and enum this project relies on, in ONE place.

Each item says whether PayCombat's public docs state it (``DOCUMENTED``, with the doc URL) or whether we
inferred it (``INFERRED``, with the reason). The client, the sandbox and the payment flow all read from
here, so when PayCombat confirms or corrects an inference exactly one line changes.
Source notes: ``../shared/paycombat-api.md`` (compiled from stored copies of docs.paycombat.com).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import quote

__all__ = [
    "CHECKOUT_HOST",
    "CURRENCY_HOME_COUNTRY",
    "DEFAULT_BASE_URL",
    "ENDPOINTS",
    "EUROPEAN_COUNTRY_CODES",
    "INFERENCES",
    "KRW_BANKS",
    "PAYIN_CHECKOUT_FIELDS",
    "PAYIN_METHODS_BY_CURRENCY",
    "PAYIN_METHOD_NAMES",
    "PAYIN_REFERENCE_FIELDS",
    "PAYIN_WORDS_FIELDS",
    "Endpoint",
    "Evidence",
    "Inference",
    "PayinStatus",
    "VaRegistrationStatus",
    "WebhookKind",
]


class Evidence(StrEnum):
    DOCUMENTED = "documented"
    INFERRED = "inferred"


DOCS = "https://docs.paycombat.com/"

DEFAULT_BASE_URL: Final = "https://api.paycombat.com"  # DOCUMENTED: every curl sample, sandbox keys included
CHECKOUT_HOST: Final = "https://checkout.paycombat.com"  # DOCUMENTED: get-detail-checkout-13145826e0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One HTTP operation of PayCombat's API."""

    name: str
    method: str
    path: str  # ``{name}`` placeholders are filled from keyword arguments
    signed: bool  # whether the request carries the HMAC ``signature`` header
    evidence: Evidence
    source: str  # doc URL for documented items; the reasoning for inferred ones

    def url_path(self, **params: str) -> str:
        if not params:
            return self.path
        return self.path.format(**{key: quote(value, safe="") for key, value in params.items()})


def _doc(slug: str) -> str:
    return DOCS + slug


# Signing rule: every POST/PATCH is signed (DOCUMENTED on the webhook pages: "Each POST/PATCH Request
# requires a Signature in the header"); GETs carry X-token only (INFERRED: no GET page lists a signature).
ENDPOINTS: Final[dict[str, Endpoint]] = {
    endpoint.name: endpoint
    for endpoint in (
        # --- checkout -------------------------------------------------------------------------------
        Endpoint("create_payment_request", "POST", "/api/v1/checkout/payment-request", True,
                 Evidence.DOCUMENTED, _doc("create-payment-request-13142063e0")),
        Endpoint("create_new_checkout", "PATCH", "/api/v1/checkout", True,
                 Evidence.DOCUMENTED, _doc("create-new-checkout-15936347e0")),
        Endpoint("get_detail_checkout", "GET", "/api/v1/checkout/retrieve/{checkout_id}", False,
                 Evidence.DOCUMENTED, _doc("get-detail-checkout-13145826e0")),
        Endpoint("create_virtual_account_krw", "PATCH", "/api/v1/checkout/create-virtual-account", True,
                 Evidence.DOCUMENTED, _doc("create-virtual-account-krw-17354379e0")),
        Endpoint("get_all_checkout", "GET", "/api/v1/checkout", False, Evidence.INFERRED,
                 "named in every nav version; path not captured: assumed to be the collection GET of /api/v1/checkout"),
        Endpoint("cancel_checkout", "PATCH", "/api/v1/checkout/cancel", True, Evidence.INFERRED,
                 "named (PATCH) at " + _doc("cancel-checkout-13272513e0")
                 + "; path and body not captured: assumed /api/v1/checkout/cancel with {checkout_token}"),
        Endpoint("get_va_bank_information_krw", "GET", "/api/v1/checkout/va-bank-information/{checkout_token}", False,
                 Evidence.INFERRED, "named only (GET); assumed to return the VA bank, account number and holder "
                 "for a checkout, keyed by its checkout_token like the other KRW checkout calls"),
        # --- payin ----------------------------------------------------------------------------------
        Endpoint("create_payin", "POST", "/api/v1/payin/create", True,
                 Evidence.DOCUMENTED, _doc("create-payin-12823303e0")),
        Endpoint("retrieve_payin", "GET", "/api/v1/payin/retrieve-payin/{payin_id}", False,
                 Evidence.DOCUMENTED, _doc("retrieve-payin-12823155e0")),
        Endpoint("create_virtual_account", "POST", "/api/v1/payin/create-va", True,
                 Evidence.DOCUMENTED, _doc("create-virtual-account-16406617e0")),
        Endpoint("get_all_payin_method", "GET", "/api/v1/payin/payin-method", False, Evidence.INFERRED,
                 "named only; path assumed from the internal /finmo/payin-method/... routes"),
        Endpoint("get_list_payment_method_by_currency", "GET", "/api/v1/payin/payin-method/currency/{currency}", False,
                 Evidence.INFERRED, "named only; path assumed from the internal /finmo/payin-method/... routes"),
        Endpoint("get_required_fields_by_payin_method", "GET",
                 "/api/v1/payin/payin-method/required-field/{payin_method_name}", False, Evidence.INFERRED,
                 "internal path /finmo/payin-method/required-field/{name} documented on apidoc.paycombat.dev "
                 "(api-12823595); the public prefix is assumed"),
        # --- transaction (named only: "Get All Transaction", "Find Transaction by Id" in older navs) ----
        Endpoint("get_all_transaction", "GET", "/api/v1/transaction", False, Evidence.INFERRED,
                 "named only; assumed to be the collection GET of /api/v1/transaction, filtered by ?reference= "
                 "and ?type= (see the `transaction_lookup` inference)"),
        Endpoint("find_transaction_by_id", "GET", "/api/v1/transaction/{transaction_id}", False, Evidence.INFERRED,
                 "named only; assumed to answer the payin or payout record of that id"),
        # --- customer -------------------------------------------------------------------------------
        Endpoint("create_customer", "POST", "/api/v1/customer/create", True,
                 Evidence.DOCUMENTED, _doc("create-customer-12819564e0")),
        Endpoint("update_customer", "PATCH", "/api/v1/customer/update", True,
                 Evidence.DOCUMENTED, _doc("update-customer-12819581e0")),
        # --- payout and merchant ----------------------------------------------------------------------
        Endpoint("create_payout", "POST", "/api/v1/payout/create-payout", True,
                 Evidence.DOCUMENTED, _doc("create-payout-12836301e0")),
        Endpoint("get_balance_payout", "GET", "/api/v1/merchant/balance/{currency}", False, Evidence.DOCUMENTED,
                 _doc("get-balance-payout-19032470e0") + " (the stored copy cut the path after '{currenc')"),
    )
}  # fmt: skip


# INFERRED (``payin_belongs``): where a payin names our merchant reference (``order_id`` on the payout-shaped
# PAYIN FAILED example); one of them must be ours, none another of this app's; and where it may name its checkout (field on the payin -> the payment's attribute).
PAYIN_REFERENCE_FIELDS: Final[tuple[str, ...]] = ("transaction", "order_reference", "order_id")
PAYIN_CHECKOUT_FIELDS: Final[dict[str, str]] = {
    "checkout_id": "checkout_id",
    "checkout_token": "checkout_token",
}
# INFERRED: the fields of a payin that carry PayCombat's own words about it, quoted when a payment is held
# (no shopper data: names, e-mails, phones and addresses are never quoted).
PAYIN_WORDS_FIELDS: Final[tuple[str, ...]] = ("status", "amount", "amount_type", "reply_code", "trx_type")


class PayinStatus(StrEnum):
    """``status`` of a payin record (Retrieve Payin, PAYIN webhooks)."""

    SUCCESS = "SUCCESS"  # DOCUMENTED: webhook-payin-success-14976023e0
    FAILED = "FAILED"  # DOCUMENTED by the webhook's name: webhook-payin-failed-17043556e0
    EXPIRED = "EXPIRED"  # DOCUMENTED by the webhook's name: webhook-payin-expired-19921507e0
    PENDING = "PENDING"  # INFERRED: the state before a payin settles (payouts document PENDING)


class VaRegistrationStatus(StrEnum):
    """``status`` of the VA Register Callback (DOCUMENTED: payin-krw-server-to-server-984535m0)."""

    APPROVED = "APPROVED"
    FAILED = "FAILED"


class WebhookKind(StrEnum):
    """What a PayCombat webhook delivery is about, as this project classifies it."""

    PAYIN_SUCCESS = "PAYIN_SUCCESS"
    PAYIN_FAILED = "PAYIN_FAILED"
    PAYIN_EXPIRED = "PAYIN_EXPIRED"
    PAYIN_PENDING = "PAYIN_PENDING"
    VA_REGISTER = "VA_REGISTER"
    PAYOUT = "PAYOUT"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Inference:
    """A fact about PayCombat that no stored doc states, and what we do about it."""

    key: str
    assumption: str
    why: str


INFERENCES: Final[dict[str, Inference]] = {
    item.key: item
    for item in (
        Inference("error_envelope", "errors use the success envelope with status=false and a message, plus a 4xx/5xx code",
                  "no error body is documented; the client treats non-2xx OR status=false as failure and keeps the body"),
        Inference("payment_request_fields", "Create Payment Request accepts description, customer_id, redirect_url, "
                  "advanced_redirect_url, webhook_url, additional_info, order_items and order_fees",
                  "the body table was not captured; these are the checkout object's fields (get-detail-checkout)"),
        Inference("payment_request_response", "Create Payment Request answers with the checkout object of "
                  "Get Detail Checkout (id, checkout_token, checkout_url, expire_at, ...)",
                  "the page only says the hosted page URL comes back in checkout_url"),
        Inference("amount_is_major_units", "amount is in major units of the currency (AUD 100 = \"amount\": 100)",
                  "documented examples are integers with currencies that have cents; unit_price 45.5 appears in examples"),
        Inference("payin_checkout_link", "a payin names its checkout in `order_reference` or `transaction` (our description) "
                  "and, when present, in `checkout_id` / `checkout_token`",
                  "no checkout field is documented on the payin record; Finmo's checkout payins carry checkout_id"),
        Inference("webhook_kind_from_status", "the webhook kind follows from `type` (PAYIN/PAYOUT) and `status`",
                  "PAYIN FAILED's documented example is payout-shaped; PAYIN EXPIRED's body was not captured"),
        Inference("webhook_response", "any 2xx acknowledges a webhook; non-2xx makes PayCombat retry",
                  "not documented; Finmo (upstream) retries 6 times on non-2xx"),
        Inference("get_requests_unsigned", "GET requests carry X-token only, no signature",
                  "no GET page lists a signature header"),
        Inference("cancel_checkout", "PATCH /api/v1/checkout/cancel with {checkout_token}; cancelling a paid checkout fails",
                  "Cancel Checkout is named (PATCH) but its page was not captured; Finmo cancels pending payins"),
        Inference("va_bank_information", "Get VA Bank Information [KRW] returns {bank_name, account_number, account_holder, "
                  "expire_at} for a checkout's virtual account", "named only"),
        Inference("va_register_callback", "the VA Register Callback body carries id, status (APPROVED/FAILED), "
                  "bank_name and account_number", "body not captured; statuses documented in the KRW guide"),
        Inference("sandbox_credentials", "sandbox X-tokens and signature keys start with `snd_`",
                  "every documented example uses snd_; the production prefix is unknown"),
        # --- choices the local sandbox (paycombat_gateway/sandbox) makes where the docs are silent ---
        Inference("request_signature_check", "the server accepts a `signature` matching the raw body OR the body "
                  "parsed and re-serialised with JSON.stringify; X-token is required on every call, signature on "
                  "every POST/PATCH (also where a page labels it, or Create VA [KRW]'s X-token, optional)",
                  "docs hash JSON.stringify(body); a public PHP integration signs one encoding and sends another"),
        Inference("error_status_codes", "401 bad/missing X-token or signature; 400 body not a JSON object or a "
                  "business rule (checkout already paid/closed, VA for a non-KRW checkout); 404 unknown id or another "
                  "merchant's; 422 field validation; 413 body over 1 MB",
                  "no error code is documented; these are Laravel's conventions (the X-token is a Laravel-encrypted blob)"),
        Inference("validation_error_shape", "422 bodies are {status:false, message:<first error>, errors:{field:[...]}}",
                  "Laravel's validation answer inside PayCombat's envelope; nothing documented"),
        Inference("success_status_codes", "successful calls answer 200 with message \"OK\"; Create Payout 201 \"Created\"",
                  "documented envelopes say \"OK\" (checkout, VA) and \"Created\" (internal create payout); codes not shown"),
        Inference("get_all_checkout_pagination", "Get All Checkout takes ?page= and ?per_page= (limit accepted), 20 per "
                  "page by default, newest first; data is Laravel's paginator {current_page, data, per_page, total, "
                  "last_page, from, to}", "the page was not captured"),
        Inference("expire_at_format", "expire_at is ISO-8601 (no offset = UTC), must be in the future and at most "
                  "400 days away; default 48 h; answered as 2025-03-19T13:18:09.000Z",
                  "default_expiry_time_seconds 172800 and max_expiration_time_in_seconds 34560000 (required fields)"),
        Inference("country_name", "country_name is the upper-case English name (AU -> AUSTRALIA, EU -> EUROPE)",
                  "one documented example: AUSTRALIA"),
        Inference("checkout_states", "a checkout ends exactly once: COMPLETED, FAILED, EXPIRED or CANCELLED; a failed "
                  "payment closes it (one payin per checkout); it expires at expire_at with a PAYIN EXPIRED webhook",
                  "the checkout object has no status; Finmo's checkout states are COMPLETED/EXPIRED/CANCELLED"),
        Inference("hosted_page_cancel", "a shopper cancelling on the hosted page cancels the checkout and sends NO "
                  "webhook (no payin exists); the browser goes to cancelled_url. Cancel Checkout (400) refuses a "
                  "paid (\"already paid\"), failed, expired or already cancelled checkout",
                  "no PAYIN CANCELLED webhook exists; the merchant learns it from the redirect or its own cancel call"),
        Inference("checkout_payin_shape", "a checkout's payin has trx_type CHECKOUT_PAYIN, amount = original_amount = "
                  "what was paid, transaction = order_reference = the checkout's description, and no checkout field",
                  "DIRECT_PAYIN is documented for direct payins; Finmo names checkout payins CHECKOUT_PAYIN"),
        Inference("krw_checkout_method", "a KRW checkout's payin_method_name becomes the chosen bank's name; its payin's "
                  "payer_id is the virtual account id; the VA has a 14-digit number and expires with the checkout",
                  "the KRW guide uses bank names as payin_method_name and payer_id = VA id for S2S payins"),
        Inference("s2s_va_callback_url", "Create Virtual Account (S2S) takes the VA Register Callback URL in "
                  "callback_url (or webhook_url) and answers the VA record with id and status",
                  "the guide only says the callback goes to a merchant-supplied URL"),
        # --- how the reconciler finds a payment at PayCombat when no webhook came (issue 15) ---
        Inference("transaction_lookup", "Get All Transaction (GET /api/v1/transaction) lists payin and payout "
                  "records in the payin record's shape, newest first, paginated like Get All Checkout; "
                  "?reference= keeps those whose `transaction` / `order_reference` (payout: `order_id`) equals it "
                  "and ?type=PAYIN keeps payins",
                  "Transaction is named in the older navs (Get All Transaction, Find Transaction by Id) with no "
                  "page stored; the merchant reference is the only key a checkout's payin carries"),
        Inference("transaction_lookup_confirmed", "a listed payin belongs to a payment only if its `transaction` or "
                  "`order_reference` equals the merchant reference exactly; its currency and amount are then judged "
                  "by the settlement rules, as a webhook's are (another currency is held for review, another amount "
                  "is reported as PayCombat's and flagged)",
                  "a filter PayCombat applies could be a prefix or substring search; nothing documents it"),
        # --- what a payin must show before it is believed (issue 19) ---
        Inference("payin_belongs", "a payin is about a payment only when its id is the one asked for (Retrieve "
                  "Payin) or signed (webhook), at least one of `transaction` / `order_reference` (payout-shaped: "
                  "`order_id`) is exactly our merchant reference, none of them holds another of this app's "
                  "references (`SALEOR-...` other than ours), and every checkout it names in `checkout_id` / "
                  "`checkout_token` is this payment's; anything else is ignored and logged. A reference field "
                  "holding a value that is not this app's proves nothing either way",
                  "no checkout field is documented on the payin record, and a lookup or a filter may answer "
                  "another record (the reconciler once settled an unpaid order with another checkout's payin); "
                  "PayCombat's documented payin example carries different values in `transaction` and "
                  "`order_reference`, so one of them may be PayCombat's own value, and requiring both to be ours "
                  "would ignore every genuine payment. Another of this app's references is a clear sign of "
                  "another payment's payin"),
        Inference("success_proves_payment", "a SUCCESS proves a payment only with `amount` present, finite, "
                  "greater than zero, in the checkout's currency (`amount_type`) and exact in its minor unit; "
                  "otherwise the payment is held for review, never reported as a charge. A smaller positive "
                  "amount is a partial payment",
                  "the docs state amount and amount_type on every payin and no rule for zero, negative or "
                  "missing amounts; money is never assumed"),
        Inference("checkout_without_payin", "a checkout with no payin after its expire_at (plus a grace period) will "
                  "never be paid: the reconciler stops looking and reports nothing",
                  "PayCombat sends PAYIN EXPIRED at expiry (documented webhook name); without any payin record "
                  "there is no PayCombat statement to report"),
        Inference("refund_api", "PayCombat offers no refund API and sends no refund webhook: refunds are made only "
                  "in its dashboard (Features > Transaction > Refund Request) against the payin id",
                  "no refund endpoint or webhook is documented; the Features docs name Transaction > Refund Request. "
                  "The app keeps a refund owed until the merchant marks it done; gateway.refunds.submit_to_paycombat "
                  "is where a real API would plug in"),
        Inference("dashboard_payment_url", "PayCombat's merchant dashboard has no linkable address per payin that we know",
                  "no dashboard URL scheme is documented, so externalUrl links the app's own page for the payment"),
        Inference("webhook_retry_schedule", "a delivery answered non-2xx (redirects are not followed) or unreachable is "
                  "retried after 1, 5, 30, 120 and 600 s in the sandbox (six attempts, like Finmo's six)",
                  "PayCombat's retry policy is not documented; Finmo retries 6 times over a day"),
    )
}  # fmt: skip


# INFERRED: the payin methods a hosted checkout offers per currency. Documented examples: au_bank_npp (AUD),
# eu_bank_sct_eur (EUR, country EU) and Korean bank names for KRW virtual accounts.
PAYIN_METHODS_BY_CURRENCY: Final[dict[str, tuple[str, ...]]] = {
    "AUD": ("au_bank_npp", "card"),
    "EUR": ("eu_bank_sct_eur", "card"),
    "USD": ("card",),
    "SGD": ("card",),
    "KRW": ("krw_virtual_account",),
}

# What a merchant reads for each payin method code (our wording; the codes are PayCombat's). au_bank_npp is
# DOCUMENTED as PayID/NPP and eu_bank_sct_eur as SEPA SCT; a KRW virtual account's payin names its bank.
PAYIN_METHOD_NAMES: Final[dict[str, str]] = {
    "au_bank_npp": "PayID bank transfer (NPP)",
    "eu_bank_sct_eur": "SEPA bank transfer",
    "card": "Card",
    "krw_virtual_account": "KRW virtual account",
}

# DOCUMENTED example value "KDB산업은행" (create-virtual-account-krw-17354379e0); the rest of the list is
# INFERRED (Korean banks commonly offering virtual accounts), used by the sandbox and the storefront docs.
KRW_BANKS: Final[tuple[str, ...]] = (
    "KDB산업은행",
    "KB국민은행",
    "신한은행",
    "우리은행",
    "하나은행",
    "IBK기업은행",
    "NH농협은행",
)

# DOCUMENTED: "use EU for all European countries" (create-payment-request-13142063e0). Which countries that
# covers is INFERRED: the SEPA area (EU 27, EEA, Switzerland, the UK and the European microstates).
EUROPEAN_COUNTRY_CODES: Final[frozenset[str]] = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
        "CH",
        "GB",
        "MC",
        "SM",
        "AD",
        "VA",
    ]
)

# INFERRED (our choice, not PayCombat's): the country sent when a checkout has no address at all.
CURRENCY_HOME_COUNTRY: Final[dict[str, str]] = {
    "AUD": "AU", "EUR": "EU", "KRW": "KR", "USD": "US", "SGD": "SG", "NZD": "NZ", "PHP": "PH", "JPY": "JP", "GBP": "EU",
}  # fmt: skip
