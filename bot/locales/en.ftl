# x0tta6bl4 bot: English. Variables are HTML-escaped by the bot before they get here.

welcome =
    <b>x0tta6bl4</b> is a self-healing mesh network: when a link or node fails, traffic is rerouted within seconds, without anyone stepping in.

    Buy access here with USDT (TRC-20) or TON, check your subscription, or try it free for a month.
welcome-referred = You came with an invitation: your friend gets a free month when you pay for the first time.
welcome-referral-refused = This invitation link cannot be used ({ $reason }).

btn-tariffs = 💳 Tariffs
btn-status = 📋 My status
btn-trial = 🎁 Free month
btn-referral = 👥 Invite a friend
btn-language = 🌐 Русский
btn-back = ⬅️ Back
btn-paid = ✅ I paid
btn-cancel = ✖️ Cancel
btn-refresh = 🔄 Refresh
btn-show-invoice = 🧾 Show invoice { $invoiceId }

tariffs-title = <b>Tariffs</b>. Choose a period:
tier-button = { $period } — { $usdt } USDT / { $ton } TON
period-months = { $months ->
    [one] { $months } month
   *[other] { $months } months
}
period-days = { $days ->
    [one] { $days } day
   *[other] { $days } days
}
choose-currency = <b>{ $period }</b>. How do you want to pay?
currency-USDT_TRC20 = USDT (TRC-20)
currency-TON = TON
tier-unknown = This tariff is no longer offered. Here are the current ones.
tier-trial = free month

invoice-creating = Creating your invoice…
invoice-created-below = Invoice <code>{ $invoiceId }</code> is below.
invoice-already-created = This invoice was already created from this message: nothing new was opened.
invoice-failed = The invoice could not be created: { $reason }

invoice-caption =
    <b>Invoice</b> <code>{ $invoiceId }</code> · { $period }

    Send exactly <b>{ $amount } { $currency }</b>
    to <code>{ $address }</code>
invoice-ton-comment = with the comment <code>{ $comment }</code> (required: it identifies your payment)
invoice-ton-link = Wallet link: <code>{ $link }</code>
invoice-usdt-exact = The amount is unique to this invoice: send it to the last digit, in one transfer, on the TRON network.
invoice-expires = ⏳ Expires in { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
} (at { $at } UTC)
invoice-expired-at = ⌛ The payment window closed at { $at } UTC.
invoice-status-line = Status: <b>{ $status }</b>
invoice-reason-line = { $reason }

status-awaiting = waiting for your transfer
status-verifying = transfer seen, waiting for the network to finalise it
status-confirmed = paid, issuing your access key
status-fulfilled = paid ✅
status-expired = expired
status-underpaid = underpaid
status-overpaid = overpaid (an operator will contact you)
status-rejected = rejected
status-cancelled = cancelled
status-refunded = refunded

access-key =
    🔑 <b>Your access key</b> (valid until { $until } UTC):
    <code>{ $key }</code>

    How to use it: open the x0tta6bl4 client, choose “Access key”, paste the key and connect. Keep it private: anyone with the key can use your subscription.

paid-checked = Checked now: { $status }.
paid-checking = Checking the network… this message will update when there is news.
paid-already-final = Nothing to check: this invoice is final ({ $status }).
cancelled-ok = Invoice cancelled.
cancel-refused = It cannot be cancelled now: { $status }.
action-refused = Not possible now: { $reason }
stale-button = This button is outdated: it belongs to an old message. Use /start for the current menu.
not-your-invoice = This invoice is not yours.
invoice-not-found = No such invoice.
refreshed = Up to date.

status-title = <b>Your status</b>
status-sub-active = Subscription active until <b>{ $until }</b> UTC ({ $tier }).
status-sub-inactive = No active subscription.
status-sub-expired = Subscription expired on { $until } UTC.
status-trial-used = Free month: used.
status-trial-available = Free month: available.
status-referrals = Friends who paid: { $count }.
status-open-none = No open invoices.
status-open-title = Open invoices:
status-open-line = • <code>{ $invoiceId }</code>: { $amount } { $currency }, { $status }

trial-granted = 🎁 Your free month is active until <b>{ $until }</b> UTC.
trial-refused = The free month is not available: { $reason }

referral-text =
    Invite friends with your link. When a friend pays for the first time, you get one free month.
    { $link }
referral-no-username = (The bot has no username, so a link cannot be made.)

language-set = Language: English.

rate-limited = Too many requests: please wait a few seconds.
private-only = Please write to me in a private chat.
error-generic = Something went wrong on our side. Please try again in a minute.
unknown-command = I do not know that command. Use /start.

admin-refused = Sorry, this command is for operators only.
admin-usage =
    Operator commands:
    /invoice &lt;id&gt; — look an invoice up
    /health — mesh health summary
    /confirm &lt;id&gt; &lt;reason&gt; — confirm a payment by hand
    /refund &lt;id&gt; &lt;reason&gt; — mark an invoice refunded
admin-invoice =
    <b>Invoice</b> <code>{ $invoiceId }</code>
    customer { $customerId }, tier { $tier }, { $amount } { $currency }
    to <code>{ $address }</code>
    created { $created }, expires { $expires }
    status <b>{ $status }</b>{ $reason }
    tx { $tx }
admin-audit-line = • { $at } { $actor }: { $action } ({ $reason })
admin-reason-required = Give a reason: /{ $command } &lt;id&gt; &lt;reason&gt;
admin-done = Done: { $invoiceId } is now { $status }.
admin-refused-by-workflow = The workflow refused: { $reason }
admin-closed = { $invoiceId } is finished ({ $status }); nothing was changed.
health-title = <b>Mesh health</b>
health-nodes = Live node workers: { $count }
health-node-line = • { $nodeId } (seen { $ago } s ago)
health-nodes-unavailable = Node registry: not available (no node registry is running).
health-healing-unavailable = Healing summary: not available yet (no healing supervisor is running in this deployment).

notify-status =
    Invoice <code>{ $invoiceId }</code>: { $status }.
notify-reminder = ⏰ Your subscription ends on <b>{ $until }</b> UTC. Renew with /start → Tariffs.
notify-expired = Your subscription has ended. Renew with /start → Tariffs.
notify-referral-credit = 👥 A friend you invited has paid: you got { $days } free days.
