"""SMS texts (Chinese). Short: one segment (70 characters) where the link allows, always the
tracking number and a link. Placeholders: {no} tracking number, {clock} the clock's term (petitions.domain.clocks.KINDS),
{due} local due date, {days} days, {unit} unit name, {link}.
"""

from __future__ import annotations

SIGNATURE = "【信访】"

TEMPLATES: dict[str, str] = {
    # To staff (承办人, 单位负责人, 督查): electronic supervision.
    "staff_yellow": "{no}{clock}将于{due}到期，黄牌预警，请抓紧办理 {link}",
    "staff_red": "{no}{clock}已超期，红牌，请立即办理 {link}",
    "staff_urged": "{no}{clock}超期{days}天，已列入督办 {link}",
    "staff_red_repeat": "{no}{clock}仍超期（{days}天），请尽快办结 {link}",
    "staff_urge": "{no}收到督办意见，请及时阅处 {link}",
    # To the citizen (信访人).
    "citizen_accepted": "您的信访事项{no}已受理，{unit}将依法办理，查询 {link}",
    "citizen_declined": "您的信访事项{no}不予受理，理由及途径请查询 {link}",
    "citizen_replied": "您的信访事项{no}已书面答复，请查询 {link}",
    "citizen_extended": "您的信访事项{no}办理期限延长{days}天，原因请查询 {link}",
    "citizen_rating": "请评价{no}的办理：满意/基本满意/不满意 {link}",
}
