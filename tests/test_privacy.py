"""Personal data detection and masking in free text (petitions.domain.privacy)."""

from __future__ import annotations

import pytest

from petitions.domain.privacy import (
    EMAIL_MASK,
    ID_MASK,
    NAME_MASK,
    PHONE_MASK,
    contains_personal_data,
    mask_text,
)

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(
    "typed",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 13812345678", "+8613812345678", "008613812345678"],
)
def test_mobile_numbers_as_people_type_them(typed):
    masked = mask_text(f"请打电话{typed}联系我")
    assert masked == f"请打电话{PHONE_MASK}联系我"
    assert "1234" not in masked


@pytest.mark.parametrize(
    "typed", ["11010519491231002X", "110105194912310021", "11010519491231002x", "110105491231002"]
)
def test_id_numbers(typed):
    masked = mask_text(f"身份证号{typed}。")
    assert masked == f"身份证号{ID_MASK}。"


def test_emails_and_landlines():
    assert mask_text("邮箱 zhang.san@example.com.cn 谢谢") == f"邮箱 {EMAIL_MASK} 谢谢"
    assert mask_text("座机0571-88881234") == f"座机{PHONE_MASK}"
    assert mask_text("座机(0571)88881234") == f"座机{PHONE_MASK}"


def test_names_and_addresses_of_the_petition_are_replaced():
    text = "我叫张三丰，住在青山县城关镇幸福路12号3单元，张三丰的房子漏水。"
    masked = mask_text(text, names=["张三丰"], addresses=["青山县城关镇幸福路12号3单元"])
    assert "张三丰" not in masked and "幸福路12号" not in masked
    assert masked.count(NAME_MASK) == 2 and "[地址已隐去]" in masked
    # Too short to be safe to replace everywhere: single characters and empty values are left.
    assert mask_text("王", names=["王", None, ""]) == "王"


def test_ordinary_numbers_are_kept():
    text = "2026年3月5日，3号楼12层，面积89.5平方米，金额12000元，共1380户。"
    assert mask_text(text) == text
    assert not contains_personal_data(text)


def test_an_id_is_not_half_masked_as_a_phone():
    # The digits 13912345678 inside an ID must not be taken for a phone number on their own.
    masked = mask_text("号码51013919123456781")  # 17 digits + 1 = not an ID, not a phone
    assert PHONE_MASK not in masked
    masked = mask_text("511391234567891234")
    assert masked == ID_MASK


def test_empty_and_detection():
    assert mask_text(None) == ""
    assert mask_text("") == ""
    assert contains_personal_data("call 13912345678")
    assert not contains_personal_data(mask_text("call 13912345678, id 11010519491231002X, a@b.cn"))


def test_longest_contact_details_first_and_short_ones_left_alone():
    # Sorted by length, not by text ("幸福路12号" sorts after "城关镇幸福路12号" as text, "小明"
    # after "乐小明"): the full address and the full name go first.
    text = "住城关镇幸福路12号，幸福路12号有积水。联系人乐小明。"
    masked = mask_text(text, addresses=["幸福路12号", "城关镇幸福路12号"], names=["小明", "乐小明"])
    assert masked == "住[地址已隐去]，[地址已隐去]有积水。联系人某某。"
    # The shortest that are replaced: an address of four characters, a name of two.
    assert mask_text("家住幸福小区，张三", addresses=["幸福小区"], names=["张三"]) == "家住[地址已隐去]，某某"
    assert mask_text("家住幸福村，张", addresses=["幸福村"], names=["张"]) == "家住幸福村，张"
    assert mask_text("家住幸福小区", addresses=["  幸福小区  ", None, ""], names=[None, ""]) == "家住[地址已隐去]"
