"""The demo province: its agencies, counters and services (names are fictional but typical)."""

from __future__ import annotations

DEPARTMENTS = [
    ("Sở Tư pháp", "Department of Justice"),
    ("Sở Kế hoạch và Đầu tư", "Department of Planning and Investment"),
    ("Sở Tài nguyên và Môi trường", "Department of Natural Resources and Environment"),
    ("Sở Xây dựng", "Department of Construction"),
    ("Sở Giao thông vận tải", "Department of Transport"),
    ("Sở Y tế", "Department of Health"),
    ("Sở Giáo dục và Đào tạo", "Department of Education and Training"),
    ("Sở Lao động - Thương binh và Xã hội", "Department of Labour, Invalids and Social Affairs"),
    ("Sở Công Thương", "Department of Industry and Trade"),
    ("Sở Nông nghiệp và Phát triển nông thôn", "Department of Agriculture and Rural Development"),
    ("Sở Tài chính", "Department of Finance"),
    ("Sở Nội vụ", "Department of Home Affairs"),
    ("Sở Văn hóa, Thể thao và Du lịch", "Department of Culture, Sports and Tourism"),
    ("Sở Thông tin và Truyền thông", "Department of Information and Communications"),
    ("Sở Khoa học và Công nghệ", "Department of Science and Technology"),
    ("Sở Ngoại vụ", "Department of Foreign Affairs"),
    ("Ban Dân tộc", "Ethnic Minorities Committee"),
    ("Ban Quản lý các khu công nghiệp", "Industrial Zones Authority"),
    ("Công an tỉnh (cấp căn cước)", "Provincial Police (identity cards)"),
    ("Bảo hiểm xã hội tỉnh", "Provincial Social Insurance"),
]

DISTRICTS = [
    ("Thành phố Sông Xanh", "Song Xanh City"),
    ("Thị xã Bến Đá", "Ben Da Town"),
    ("Huyện Đồng Lúa", "Dong Lua District"),
    ("Huyện Núi Mây", "Nui May District"),
    ("Huyện Cửa Biển", "Cua Bien District"),
    ("Huyện Hồ Sen", "Ho Sen District"),
    ("Huyện Rừng Thông", "Rung Thong District"),
    ("Huyện Bãi Cát", "Bai Cat District"),
    ("Huyện Suối Bạc", "Suoi Bac District"),
]

COMMUNE_STEMS = [
    "An", "Bình", "Phú", "Hòa", "Tân", "Thạnh", "Đông", "Tây", "Nam", "Bắc", "Trung",
    "Phước", "Long", "Thuận", "Hưng", "Mỹ", "Vĩnh", "Quang", "Hải", "Sơn",
]
COMMUNE_SUFFIXES = ["Lợi", "Thành", "Hòa", "Phú", "Hưng", "Lộc", "Tiến"]

# (code, Vietnamese, English, level offered at)
SERVICES = [
    ("TP-LLTP", "Cấp Phiếu lý lịch tư pháp", "Criminal record certificate", "department"),
    ("KH-DKDN", "Đăng ký thành lập doanh nghiệp", "Business registration", "department"),
    ("TN-GCN", "Cấp Giấy chứng nhận quyền sử dụng đất", "Land use right certificate", "department"),
    ("XD-GPXD", "Cấp giấy phép xây dựng công trình", "Construction permit", "department"),
    ("GT-GPLX", "Cấp đổi giấy phép lái xe", "Driving licence renewal", "department"),
    ("YT-HNKCB", "Cấp chứng chỉ hành nghề khám chữa bệnh", "Medical practice licence", "department"),
    ("GD-VB", "Cấp bản sao văn bằng, chứng chỉ", "Copy of diplomas", "department"),
    ("LD-GPLD", "Cấp giấy phép lao động cho người nước ngoài", "Work permit for foreigners", "department"),
    ("CT-ATTP", "Cấp giấy chứng nhận an toàn thực phẩm", "Food safety certificate", "department"),
    ("NN-KD", "Kiểm dịch động vật, thực vật", "Animal and plant quarantine", "department"),
    ("HU-DKHKD", "Đăng ký hộ kinh doanh", "Household business registration", "district"),
    ("HU-GPXD", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "Housing construction permit", "district"),
    ("HU-DD", "Đăng ký biến động đất đai", "Land change registration", "district"),
    ("HU-CT", "Chứng thực bản sao từ bản chính", "Certified copies", "district"),
    ("HU-HT", "Đăng ký hộ tịch có yếu tố nước ngoài", "Civil status with foreign element", "district"),
    ("XA-KS", "Đăng ký khai sinh", "Birth registration", "commune"),
    ("XA-KT", "Đăng ký khai tử", "Death registration", "commune"),
    ("XA-KH", "Đăng ký kết hôn", "Marriage registration", "commune"),
    ("XA-CT", "Chứng thực chữ ký, bản sao", "Signature and copy certification", "commune"),
    ("XA-XNHN", "Xác nhận tình trạng hôn nhân", "Marital status confirmation", "commune"),
    ("XA-BTXH", "Hưởng trợ cấp bảo trợ xã hội", "Social assistance allowance", "commune"),
]

POSITIVE_COMMENTS = [
    "Cán bộ nhiệt tình, hướng dẫn chu đáo.",
    "Thủ tục nhanh gọn, đúng hẹn.",
    "Rất hài lòng, cảm ơn bộ phận một cửa.",
    "Nhân viên lịch sự, giải thích dễ hiểu.",
]
NEGATIVE_COMMENTS = [
    "Phải đi lại nhiều lần mới xong hồ sơ.",
    "Chỗ ngồi chờ chật, không đủ ghế.",
    "Trả kết quả trễ hẹn, không báo trước.",
    "Không biết gửi phản ánh ở đâu.",
    "Máy lấy số thứ tự hay bị hỏng.",
]
