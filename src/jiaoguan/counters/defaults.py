"""The default catalogue of counter services (migration 0002 seeds the same rows; a city edits them in the admin).
``subject``: "person" services are done in person; "vehicle" services may be batch-booked by enterprises for
their vehicles."""

DEFAULT_SERVICES = [
    {"code": "licence", "name_zh": "驾驶证业务", "name_en": "Driving licence business",
     "description_zh": "换证、补证、恢复驾驶资格、信息变更等",
     "description_en": "Renewal, replacement, reinstatement, change of details", "subject": "person", "sort": 10},
    {"code": "vehicle", "name_zh": "机动车业务", "name_en": "Vehicle business",
     "description_zh": "注册、转移、变更、抵押、注销登记，补换号牌行驶证等",
     "description_en": "Registration, transfer, change, mortgage, deregistration, replacement plates and papers",
     "subject": "vehicle", "sort": 20},
    {"code": "violation", "name_zh": "违法处理", "name_en": "Violation handling",
     "description_zh": "交通违法处理、罚款缴纳、记分查询等",
     "description_en": "Handling traffic violations, paying fines, points", "subject": "vehicle", "sort": 30},
    {"code": "accident", "name_zh": "事故处理", "name_en": "Accident handling",
     "description_zh": "交通事故认定、调解及材料领取",
     "description_en": "Accident findings, mediation and documents", "subject": "person", "sort": 40},
]
