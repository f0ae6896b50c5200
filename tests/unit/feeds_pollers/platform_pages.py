"""Recorded pages in each platform's documented shape, written from the public API documentation.

Each constant names the page it follows. Values are made up; field names, nesting and types are the
documented ones.
"""

# bilibili-API-collect docs/comment/list.md ("获取评论区明细_懒加载" /x/v2/reply/wbi/main) and
# docs/comment/readme.md ("评论条目对象"): data.cursor {is_begin, prev, next, is_end, mode, all_count},
# data.replies[] with rpid/oid/type/mid/root/parent/ctime/like/rcount/member.uname/content.message and
# nested replies[]; data.top_replies[] for the pinned comment.
BILIBILI_REPLY_PAGE = {
    "code": 0,
    "message": "0",
    "ttl": 1,
    "data": {
        "cursor": {"is_begin": True, "prev": 1, "next": 2, "is_end": False, "mode": 2, "all_count": 3},
        "replies": [
            {
                "rpid": 201, "oid": 170001, "type": 1, "mid": 9001, "root": 0, "parent": 0, "count": 1,
                "rcount": 1, "ctime": 1763812800, "rpid_str": "201", "root_str": "0", "parent_str": "0",
                "like": 12, "member": {"mid": "9001", "uname": "路人甲", "sex": "保密"},
                "content": {"message": "质量有问题,客服不回[生气]", "plat": 0},
                "replies": [
                    {
                        "rpid": 202, "oid": 170001, "type": 1, "mid": 42, "root": 201, "parent": 201,
                        "rcount": 0, "ctime": 1763813100, "rpid_str": "202", "root_str": "201",
                        "parent_str": "201", "like": 3, "member": {"mid": "42", "uname": "小厨科技官方"},
                        "content": {"message": "您好,已私信您处理~"}, "replies": None,
                    }
                ],
            },
            {
                "rpid": 200, "oid": 170001, "type": 1, "mid": 9002, "root": 0, "parent": 0, "rcount": 0,
                "ctime": 1763812000, "like": 0, "member": {"mid": "9002", "uname": "路人乙"},
                "content": {"message": "支持!"}, "replies": [],
            },
        ],
        "top_replies": [
            {
                "rpid": 100, "oid": 170001, "type": 1, "mid": 42, "root": 0, "parent": 0, "rcount": 0,
                "ctime": 1760000000, "like": 99, "member": {"mid": "42", "uname": "小厨科技官方"},
                "content": {"message": "置顶:售后请联系客服"}, "replies": [],
            }
        ],
    },
}

# bilibili-API-collect docs/login/login_info.md ("导航栏用户信息" /x/web-interface/nav), logged out.
BILIBILI_NAV_LOGGED_OUT = {
    "code": -101,
    "message": "账号未登录",
    "ttl": 1,
    "data": {
        "isLogin": False,
        "wbi_img": {
            "img_url": "https://i0.hdslb.com/bfs/wbi/7cd084941338484aae1ad9425b84077c.png",
            "sub_url": "https://i0.hdslb.com/bfs/wbi/4932caff0ff746eab6f01bf08b70ac45.png",
        },
    },
}

# developer.open-douyin.com 互动管理 > 评论管理 > 评论列表 (GET /item/comment/list/), 正常响应示例.
DOUYIN_COMMENT_PAGE = {
    "data": {
        "error_code": 0,
        "description": "",
        "cursor": 2,
        "has_more": True,
        "list": [
            {"top": True, "comment_id": "@9VwKzuuES8gnaWe", "comment_user_id": "brand-open-id",
             "content": "置顶:官方客服在线", "create_time": 1763700000, "digg_count": 647, "reply_comment_total": 12},
            {"top": False, "comment_id": "@9VwKzuuES8gnaWf", "comment_user_id": "user-1",
             "content": "用了过敏了怎么办", "create_time": 1763812800, "digg_count": 3, "reply_comment_total": 0},
        ],
    },
    "extra": {"logid": "202008121419360101980821035705926A", "now": 1597213176393, "error_code": 0,
              "description": "", "sub_error_code": 0, "sub_description": ""},
}

# developer.open-douyin.com 状态码排查: access_token 过期 (旧通用状态码 2190008), 异常响应示例 shape.
DOUYIN_TOKEN_EXPIRED = {
    "data": {"error_code": 2190008, "description": "access_token过期,请刷新或重新授权"},
    "extra": {"error_code": 2190008, "description": "access_token过期,请刷新或重新授权", "sub_error_code": 0,
              "sub_description": "", "now": 1594015876138, "logid": "2020070614111601020812108120108D"},
}

# open.weibo.com/wiki/2/comments/show: comments[] with created_at/id/text/user/status/reply_comment,
# previous_cursor/next_cursor/total_number.
WEIBO_COMMENTS_PAGE = {
    "comments": [
        {
            "created_at": "Sat Nov 22 20:15:00 +0800 2026", "id": 5100, "idstr": "5100", "mid": "5100",
            "text": "回复@网友A:已安排客服联系您", "source": "微博 weibo.com",
            "user": {"id": 1900, "idstr": "1900", "screen_name": "品牌官博", "followers_count": 120000},
            "status": {"id": 4900000000000001, "idstr": "4900000000000001", "text": "新品发布"},
            "reply_comment": {"id": 5099, "idstr": "5099", "text": "一直没人回复?"},
        },
        {
            "created_at": "Sat Nov 22 20:10:00 +0800 2026", "id": 5099, "idstr": "5099", "mid": "5099",
            "text": "一直没人回复?",
            "user": {"id": 77, "idstr": "77", "screen_name": "网友A", "followers_count": 35},
            "status": {"id": 4900000000000001, "idstr": "4900000000000001", "text": "新品发布"},
        },
    ],
    "hasvisible": False,
    "previous_cursor": 0,
    "next_cursor": 5098,
    "total_number": 40,
}

# open.weibo.com/wiki/Error_code: error JSON {request, error_code, error}.
WEIBO_EXPIRED = {"request": "/2/comments/show.json", "error_code": 21327, "error": "expired_token"}
