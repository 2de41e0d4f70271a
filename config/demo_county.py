"""The demo county: 县人民政府, the petition bureau, the discipline office, 12 townships,
3 urban management committees and 32 county departments, with a subject catalogue and
routing rules that send every category of every place somewhere.

Loaded by `flask seed-demo` (idempotent) and by `make run`.
"""

from __future__ import annotations

COUNTY = "青山县"

GOVERNMENT = ("gov", "青山县人民政府", "government")
BUREAU = ("xfj", "青山县信访局", "bureau")
DISCIPLINE = ("jw", "青山县纪委监委", "discipline")

TOWNSHIPS: list[tuple[str, str]] = [
    ("chengguan", "城关镇"),
    ("dongcheng", "东城街道"),
    ("xicheng", "西城街道"),
    ("nanshan", "南山镇"),
    ("beihe", "北河镇"),
    ("qingshi", "青石镇"),
    ("taoyuan", "桃源乡"),
    ("liushu", "柳树镇"),
    ("shuikou", "水口镇"),
    ("huangpo", "黄坡乡"),
    ("longtan", "龙潭镇"),
    ("baiyun", "白云乡"),
]

COMMITTEES: list[tuple[str, str]] = [
    ("kaifaqu", "青山经济开发区管委会"),
    ("xincheng", "新城区管委会"),
    ("gaotie", "高铁新区管委会"),
]

DEPARTMENTS: list[tuple[str, str]] = [
    ("fgj", "县发展和改革局"),
    ("jyj", "县教育局"),
    ("kjj", "县科学技术局"),
    ("gxj", "县工业和信息化局"),
    ("gaj", "县公安局"),
    ("mzj", "县民政局"),
    ("sfj", "县司法局"),
    ("czj", "县财政局"),
    ("rsj", "县人力资源和社会保障局"),
    ("zrzyj", "县自然资源局"),
    ("sthjj", "县生态环境分局"),
    ("zjj", "县住房和城乡建设局"),
    ("jtj", "县交通运输局"),
    ("slj", "县水利局"),
    ("nyj", "县农业农村局"),
    ("swj", "县商务局"),
    ("wlj", "县文化和旅游局"),
    ("wjw", "县卫生健康委员会"),
    ("tyjrj", "县退役军人事务局"),
    ("yjj", "县应急管理局"),
    ("sjj", "县审计局"),
    ("scjgj", "县市场监督管理局"),
    ("ybj", "县医疗保障局"),
    ("cgj", "县城市管理综合执法局"),
    ("lyj", "县林业局"),
    ("tjj", "县统计局"),
    ("zwfw", "县政务服务中心"),
    ("fcfw", "县房产服务中心"),
    ("gzw", "县国有资产监督管理办公室"),
    ("xzsp", "县行政审批局"),
    ("cl", "县残疾人联合会"),
    ("zgh", "县总工会"),
]

# Top-level subjects; each child: (code, name, kind, keywords, handled by, limits).
# "handled by" is a department code, "township" (the place concerned handles it),
# "jw" (the discipline office) or "xfj" (the bureau answers it).
# limits: optional (accept committed, handle committed) in days; None keeps the defaults.
CATEGORIES: list[dict] = [
    {
        "code": "cxjs", "name": "城乡建设", "children": [
            ("cxjs-zs", "房屋征收与拆迁补偿", "grievance", "征收,拆迁,补偿,安置,棚改", "zjj", None),
            ("cxjs-wy", "物业管理", "grievance", "物业,物业费,小区,业委会,电梯", "fcfw", (5, 20)),
            ("cxjs-zf", "住房保障", "grievance", "公租房,廉租房,保障房,住房补贴", "zjj", None),
            ("cxjs-zl", "房屋质量与交房", "grievance", "房屋质量,漏水,开裂,交房,办证,不动产证", "zjj", None),
            ("cxjs-wj", "违法建设", "grievance", "违建,违章建筑,私搭乱建,加层", "township", (5, 20)),
        ],
    },
    {
        "code": "ldsb", "name": "劳动和社会保障", "children": [
            ("ldsb-qx", "拖欠工资", "grievance", "欠薪,拖欠工资,农民工工资,讨薪,工钱", "rsj", (3, 15)),
            ("ldsb-sb", "社会保险", "grievance", "社保,养老保险,失业保险,工伤,断缴", "rsj", None),
            ("ldsb-ht", "劳动合同与劳动关系", "grievance", "劳动合同,辞退,加班,解除合同", "rsj", None),
        ],
    },
    {
        "code": "nync", "name": "农业农村", "children": [
            ("nync-tdcb", "土地承包与流转", "grievance", "承包地,土地流转,确权,承包合同", "township", None),
            ("nync-zjd", "宅基地", "grievance", "宅基地,建房,批地,老宅", "township", None),
            ("nync-bt", "惠农补贴", "grievance", "补贴,种粮补贴,农机补贴,惠农", "nyj", (5, 20)),
            ("nync-cwgk", "村务公开与集体资产", "grievance", "村务,账目,集体资产,村干部,分红", "township", None),
        ],
    },
    {
        "code": "zyhj", "name": "资源环境", "children": [
            ("zyhj-wr", "环境污染", "grievance", "污染,排污,臭味,废水,废气,粉尘", "sthjj", (3, 15)),
            ("zyhj-zs", "噪声扰民", "grievance", "噪音,噪声,施工扰民,夜间施工,广场舞", "township", (2, 7)),
            ("zyhj-ld", "林地与山林纠纷", "grievance", "林地,山林,砍伐,林权", "lyj", None),
            ("zyhj-tdgl", "土地管理与用地", "grievance", "占地,用地,土地出让,耕地", "zrzyj", None),
        ],
    },
    {
        "code": "jtys", "name": "交通运输", "children": [
            ("jtys-dl", "道路桥梁维修", "grievance", "道路,坑洼,修路,桥梁,路灯", "jtj", (3, 15)),
            ("jtys-gj", "公交与客运", "grievance", "公交,班车,客运,线路,站点", "jtj", None),
        ],
    },
    {
        "code": "jyws", "name": "教育卫生", "children": [
            ("jyws-rx", "入学与招生", "grievance", "入学,学位,招生,转学,学区", "jyj", (3, 15)),
            ("jyws-xy", "校园安全与收费", "grievance", "学校,校园,乱收费,补课,校车", "jyj", None),
            ("jyws-yl", "医疗服务与纠纷", "grievance", "医院,医疗,医生,看病,医疗事故", "wjw", None),
            ("jyws-yb", "医保报销", "grievance", "医保,报销,异地就医,新农合", "ybj", (3, 15)),
        ],
    },
    {
        "code": "mzsw", "name": "民政与社会事务", "children": [
            ("mzsw-db", "低保与社会救助", "grievance", "低保,救助,特困,临时救助,困难", "township", None),
            ("mzsw-yl", "养老服务", "grievance", "养老院,敬老院,高龄补贴,老年人", "mzj", None),
            ("mzsw-cj", "残疾人帮扶", "grievance", "残疾,残疾证,两项补贴,康复", "cl", None),
            ("mzsw-tyjr", "退役军人优抚", "grievance", "退役,军人,优抚,伤残军人,安置", "tyjrj", None),
        ],
    },
    {
        "code": "scjg", "name": "市场监管", "children": [
            ("scjg-sp", "食品药品安全", "grievance", "食品,过期,餐馆,药品,卫生", "scjgj", (2, 10)),
            ("scjg-xf", "消费维权", "grievance", "消费,退款,假货,商家,预付卡", "scjgj", (3, 15)),
        ],
    },
    {
        "code": "csgl", "name": "城市管理", "children": [
            ("csgl-sr", "市容环境卫生", "grievance", "垃圾,卫生,市容,清运,公厕", "cgj", (2, 7)),
            ("csgl-zd", "占道经营与停车", "grievance", "占道,摊贩,停车,乱停", "cgj", (2, 7)),
        ],
    },
    {
        "code": "zfzx", "name": "政法与社会治安", "children": [
            ("zfzx-za", "社会治安", "grievance", "治安,盗窃,打架,诈骗,赌博", "gaj", (3, 15)),
            ("zfzx-hj", "户籍与证件", "grievance", "户口,户籍,身份证,落户,迁移", "gaj", (3, 10)),
            ("zfzx-flyz", "法律援助与调解", "grievance", "法律援助,调解,律师,纠纷", "sfj", None),
        ],
    },
    {
        "code": "jyyj", "name": "意见建议", "children": [
            ("jyyj-gh", "城乡规划与建设建议", "suggestion", "规划,建议,公园,设施", "zjj", None),
            ("jyyj-gg", "公共服务建议", "suggestion", "服务,窗口,办事,建议,便民", "zwfw", None),
            ("jyyj-yshj", "营商环境建议", "suggestion", "营商环境,企业,审批,办事效率", "xzsp", None),
        ],
    },
    {
        "code": "jjkg", "name": "检举控告", "children": [
            ("jjkg-wj", "违纪违法问题", "report", "贪污,受贿,违纪,违法,挪用", "jw", None),
            ("jjkg-zf", "作风问题", "report", "作风,吃拿卡要,不作为,乱作为,态度", "jw", None),
            ("jjkg-qh", "侵害群众利益", "report", "侵占,克扣,优亲厚友,截留", "jw", None),
        ],
    },
    {
        "code": "zx", "name": "政策咨询", "children": [
            ("zx-zc", "政策咨询", "consultation", "咨询,政策,怎么办,是否,条件", "xfj", (1, 1)),
            ("zx-bs", "办事指南", "consultation", "办理,流程,材料,在哪里办,时间", "xfj", (1, 1)),
        ],
    },
]

# English names (shown with ?lang=en), by code: every unit and category of the demo county.
UNIT_NAMES_EN: dict[str, str] = {
    "gov": "Qingshan County Government",
    "xfj": "Qingshan County Petition Bureau",
    "jw": "Qingshan County Discipline Inspection and Supervision Commission",
    "chengguan": "Chengguan Town",
    "dongcheng": "Dongcheng Sub-district",
    "xicheng": "Xicheng Sub-district",
    "nanshan": "Nanshan Town",
    "beihe": "Beihe Town",
    "qingshi": "Qingshi Town",
    "taoyuan": "Taoyuan Township",
    "liushu": "Liushu Town",
    "shuikou": "Shuikou Town",
    "huangpo": "Huangpo Township",
    "longtan": "Longtan Town",
    "baiyun": "Baiyun Township",
    "kaifaqu": "Qingshan Economic Development Zone Committee",
    "xincheng": "Xincheng District Committee",
    "gaotie": "High-Speed Rail New Area Committee",
    "fgj": "County Development and Reform Bureau",
    "jyj": "County Education Bureau",
    "kjj": "County Science and Technology Bureau",
    "gxj": "County Industry and Information Technology Bureau",
    "gaj": "County Public Security Bureau",
    "mzj": "County Civil Affairs Bureau",
    "sfj": "County Justice Bureau",
    "czj": "County Finance Bureau",
    "rsj": "County Human Resources and Social Security Bureau",
    "zrzyj": "County Natural Resources Bureau",
    "sthjj": "County Ecology and Environment Branch",
    "zjj": "County Housing and Urban-Rural Development Bureau",
    "jtj": "County Transport Bureau",
    "slj": "County Water Resources Bureau",
    "nyj": "County Agriculture and Rural Affairs Bureau",
    "swj": "County Commerce Bureau",
    "wlj": "County Culture and Tourism Bureau",
    "wjw": "County Health Commission",
    "tyjrj": "County Veterans Affairs Bureau",
    "yjj": "County Emergency Management Bureau",
    "sjj": "County Audit Bureau",
    "scjgj": "County Market Regulation Bureau",
    "ybj": "County Healthcare Security Bureau",
    "cgj": "County Urban Management and Law Enforcement Bureau",
    "lyj": "County Forestry Bureau",
    "tjj": "County Statistics Bureau",
    "zwfw": "County Government Services Centre",
    "fcfw": "County Housing Services Centre",
    "gzw": "County State-owned Assets Supervision Office",
    "xzsp": "County Administrative Approval Bureau",
    "cl": "County Disabled Persons' Federation",
    "zgh": "County Federation of Trade Unions",
}
CATEGORY_NAMES_EN: dict[str, str] = {
    "cxjs": "Urban and rural construction",
    "cxjs-zs": "Expropriation and demolition compensation",
    "cxjs-wy": "Property management",
    "cxjs-zf": "Housing support",
    "cxjs-zl": "Housing quality and handover",
    "cxjs-wj": "Illegal construction",
    "ldsb": "Labour and social security",
    "ldsb-qx": "Unpaid wages",
    "ldsb-sb": "Social insurance",
    "ldsb-ht": "Labour contracts and relations",
    "nync": "Agriculture and rural affairs",
    "nync-tdcb": "Land contracts and transfers",
    "nync-zjd": "Rural homesteads",
    "nync-bt": "Farm subsidies",
    "nync-cwgk": "Village affairs and collective assets",
    "zyhj": "Resources and environment",
    "zyhj-wr": "Pollution",
    "zyhj-zs": "Noise",
    "zyhj-ld": "Forest land disputes",
    "zyhj-tdgl": "Land management and use",
    "jtys": "Transport",
    "jtys-dl": "Road and bridge repairs",
    "jtys-gj": "Buses and passenger transport",
    "jyws": "Education and health",
    "jyws-rx": "School places and admissions",
    "jyws-xy": "School safety and fees",
    "jyws-yl": "Medical services and disputes",
    "jyws-yb": "Medical insurance claims",
    "mzsw": "Civil and social affairs",
    "mzsw-db": "Minimum living allowance and social assistance",
    "mzsw-yl": "Elderly care",
    "mzsw-cj": "Support for people with disabilities",
    "mzsw-tyjr": "Support for veterans",
    "scjg": "Market regulation",
    "scjg-sp": "Food and drug safety",
    "scjg-xf": "Consumer rights",
    "csgl": "Urban management",
    "csgl-sr": "Streets and sanitation",
    "csgl-zd": "Street vending and parking",
    "zfzx": "Law and public order",
    "zfzx-za": "Public order",
    "zfzx-hj": "Household registration and ID documents",
    "zfzx-flyz": "Legal aid and mediation",
    "jyyj": "Suggestions",
    "jyyj-gh": "Suggestions on planning and construction",
    "jyyj-gg": "Suggestions on public services",
    "jyyj-yshj": "Suggestions on the business environment",
    "jjkg": "Reports of misconduct",
    "jjkg-wj": "Violations of discipline or law",
    "jjkg-zf": "Conduct of officials",
    "jjkg-qh": "Harm to the public's interests",
    "zx": "Policy questions",
    "zx-zc": "Policy questions",
    "zx-bs": "How to get things done",
}

# Demo accounts: all share this password (config.settings.Settings.demo_password).
STAFF_ACCOUNTS: list[tuple[str, str, str, str | None]] = [
    # username, name, role, unit code
    ("admin", "系统管理员", "admin", "xfj"),
    ("intake", "登记员王芳", "intake", "xfj"),
    ("supervisor", "督查员李强", "supervisor", "xfj"),
]

SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅建国文斌志鹏海燕辉"
