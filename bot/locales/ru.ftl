# Бот x0tta6bl4: русский. Переменные экранируются для HTML до подстановки.

welcome =
    <b>x0tta6bl4</b> — самовосстанавливающаяся mesh-сеть: если канал или узел отказал, трафик перенаправляется за секунды, без участия людей.

    Здесь можно купить доступ за USDT (TRC-20) или TON, проверить подписку или попробовать месяц бесплатно.
welcome-referred = Вы пришли по приглашению: ваш друг получит бесплатный месяц, когда вы впервые оплатите доступ.
welcome-referral-refused = Эту пригласительную ссылку использовать нельзя ({ $reason }).

btn-tariffs = 💳 Тарифы
btn-status = 📋 Мой статус
btn-trial = 🎁 Бесплатный месяц
btn-referral = 👥 Пригласить друга
btn-language = 🌐 English
btn-back = ⬅️ Назад
btn-paid = ✅ Я оплатил
btn-cancel = ✖️ Отменить
btn-refresh = 🔄 Обновить
btn-show-invoice = 🧾 Показать счёт { $invoiceId }

tariffs-title = <b>Тарифы</b>. Выберите срок:
tier-button = { $period } — { $usdt } USDT / { $ton } TON
period-months = { $months ->
    [one] { $months } месяц
    [few] { $months } месяца
   *[other] { $months } месяцев
}
period-days = { $days ->
    [one] { $days } день
    [few] { $days } дня
   *[other] { $days } дней
}
choose-currency = <b>{ $period }</b>. Чем будете платить?
currency-USDT_TRC20 = USDT (TRC-20)
currency-TON = TON
tier-unknown = Этот тариф больше не предлагается. Вот актуальные.
tier-trial = бесплатный месяц

invoice-creating = Создаю счёт…
invoice-created-below = Счёт <code>{ $invoiceId }</code> — ниже.
invoice-already-created = Счёт из этого сообщения уже создан: новый не открывался.
invoice-failed = Не удалось создать счёт: { $reason }

invoice-caption =
    <b>Счёт</b> <code>{ $invoiceId }</code> · { $period }

    Переведите ровно <b>{ $amount } { $currency }</b>
    на адрес <code>{ $address }</code>
invoice-ton-comment = с комментарием <code>{ $comment }</code> (обязательно: по нему мы находим ваш платёж)
invoice-ton-link = Ссылка для кошелька: <code>{ $link }</code>
invoice-usdt-exact = Сумма уникальна для этого счёта: переведите её до последней цифры, одним переводом, в сети TRON.
invoice-expires = ⏳ Действует ещё { $minutes ->
    [one] { $minutes } минуту
    [few] { $minutes } минуты
   *[other] { $minutes } минут
} (до { $at } UTC)
invoice-expired-at = ⌛ Окно оплаты закрылось в { $at } UTC.
invoice-status-line = Статус: <b>{ $status }</b>
invoice-reason-line = { $reason }

status-awaiting = ждём ваш перевод
status-verifying = перевод найден, ждём подтверждения сети
status-confirmed = оплачено, выпускаем ключ доступа
status-fulfilled = оплачено ✅
status-expired = истёк
status-underpaid = недоплата
status-overpaid = переплата (оператор свяжется с вами)
status-rejected = отклонён
status-cancelled = отменён
status-refunded = возвращён

access-key =
    🔑 <b>Ваш ключ доступа</b> (действует до { $until } UTC):
    <code>{ $key }</code>

    Как пользоваться: откройте клиент x0tta6bl4, выберите «Ключ доступа», вставьте ключ и подключитесь. Никому его не показывайте: с этим ключом любой может пользоваться вашей подпиской.

paid-checked = Проверили сейчас: { $status }.
paid-checking = Проверяем сеть… это сообщение обновится, когда будут новости.
paid-already-final = Проверять нечего: статус счёта окончательный ({ $status }).
cancelled-ok = Счёт отменён.
cancel-refused = Сейчас отменить нельзя: { $status }.
action-refused = Сейчас нельзя: { $reason }
stale-button = Эта кнопка устарела: она из старого сообщения. Актуальное меню — /start.
not-your-invoice = Это не ваш счёт.
invoice-not-found = Такого счёта нет.
refreshed = Данные актуальны.

status-title = <b>Ваш статус</b>
status-sub-active = Подписка активна до <b>{ $until }</b> UTC ({ $tier }).
status-sub-inactive = Активной подписки нет.
status-sub-expired = Подписка закончилась { $until } UTC.
status-trial-used = Бесплатный месяц: использован.
status-trial-available = Бесплатный месяц: доступен.
status-referrals = Оплативших друзей: { $count }.
status-open-none = Открытых счетов нет.
status-open-title = Открытые счета:
status-open-line = • <code>{ $invoiceId }</code>: { $amount } { $currency }, { $status }

trial-granted = 🎁 Бесплатный месяц активен до <b>{ $until }</b> UTC.
trial-refused = Бесплатный месяц недоступен: { $reason }

referral-text =
    Приглашайте друзей по своей ссылке. Когда друг впервые оплатит доступ, вы получите месяц бесплатно.
    { $link }
referral-no-username = (У бота нет имени пользователя, ссылку не составить.)

language-set = Язык: русский.

rate-limited = Слишком много запросов: подождите несколько секунд.
private-only = Напишите мне в личные сообщения.
error-generic = У нас что-то пошло не так. Попробуйте ещё раз через минуту.
unknown-command = Такой команды я не знаю. Начните с /start.

admin-refused = Извините, эта команда только для операторов.
admin-usage =
    Команды оператора:
    /invoice &lt;id&gt; — найти счёт
    /health — сводка о состоянии сети
    /confirm &lt;id&gt; &lt;причина&gt; — подтвердить оплату вручную
    /refund &lt;id&gt; &lt;причина&gt; — отметить возврат
admin-invoice =
    <b>Счёт</b> <code>{ $invoiceId }</code>
    клиент { $customerId }, тариф { $tier }, { $amount } { $currency }
    на <code>{ $address }</code>
    создан { $created }, истекает { $expires }
    статус <b>{ $status }</b>{ $reason }
    tx { $tx }
admin-audit-line = • { $at } { $actor }: { $action } ({ $reason })
admin-reason-required = Укажите причину: /{ $command } &lt;id&gt; &lt;причина&gt;
admin-done = Готово: { $invoiceId } теперь { $status }.
admin-refused-by-workflow = Workflow отказал: { $reason }
admin-closed = { $invoiceId } завершён ({ $status }); ничего не изменено.
health-title = <b>Состояние сети</b>
health-nodes = Живых узловых воркеров: { $count }
health-node-line = • { $nodeId } (был { $ago } с назад)
health-nodes-unavailable = Реестр узлов: недоступен (реестр узлов не запущен).
health-healing-unavailable = Сводка самовосстановления: пока недоступна (супервизор восстановления в этом развёртывании не запущен).

notify-status =
    Счёт <code>{ $invoiceId }</code>: { $status }.
notify-reminder = ⏰ Ваша подписка заканчивается <b>{ $until }</b> UTC. Продлить: /start → Тарифы.
notify-expired = Ваша подписка закончилась. Продлить: /start → Тарифы.
notify-referral-credit = 👥 Приглашённый вами друг оплатил доступ: вам начислено { $days } дней бесплатно.
