#!/usr/bin/env python3
"""Build the bundled sample comment feed (bot/demo/sample_feed.jsonl).

Deterministic (seeded) and standard-library only, so anyone can regenerate the exact same file:

    python scripts/make_sample_feed.py            # writes bot/demo/sample_feed.jsonl
    python scripts/make_sample_feed.py --check    # exits 1 if the committed file differs

The feed covers 2026-11-20..2026-11-23 (Asia/Shanghai, +08:00) for two accounts of two clients:
- client lanji (澜肌护肤): Douyin account lanji_official (澜肌官方旗舰店)
- client xiaochu (小厨科技): Bilibili account xiaochu_kitchen (小厨科技官方)

Ordinary days follow a daily rhythm (quiet at night, busy at lunch and in the evening), with praise,
questions, mild complaints, chit-chat, threads and some replies by the accounts themselves. One crisis:
on 2026-11-22 from about 20:06, lanji's new face-cream video gets a product-quality complaint
(allergy / ruined skin / refund / 12315) that snowballs for about an hour with heavily-liked negative
comments, then tails off into the next day.

Every line is one record in the ingestion format of issue 2 (field order fixed below).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20261122
CST = timezone(timedelta(hours=8))
FEED_START = datetime(2026, 11, 20, 0, 0, 0, tzinfo=CST)
FEED_END = datetime(2026, 11, 23, 23, 59, 59, tzinfo=CST)
CRISIS_START = datetime(2026, 11, 22, 20, 6, 13, tzinfo=CST)
CRISIS_PEAK_END = datetime(2026, 11, 22, 21, 12, 0, tzinfo=CST)

FIELDS = (
    "platform", "account_id", "content_id", "comment_id", "text", "created_at", "parent_id",
    "author_id", "author_name", "author_followers", "like_count", "reply_count", "content_title",
    "content_url", "is_from_account",
)

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "bot" / "demo" / "sample_feed.jsonl"

# Relative comment volume per hour of day (Beijing time): quiet at night, a lunch bump, busy evenings.
HOUR_WEIGHTS = (
    0.55, 0.30, 0.15, 0.08, 0.05, 0.05, 0.10, 0.30, 0.60, 0.80, 0.90, 1.00,
    1.40, 1.30, 0.90, 0.85, 0.90, 1.00, 1.30, 1.70, 2.10, 2.30, 2.00, 1.20,
)


@dataclass(frozen=True)
class Account:
    client: str
    platform: str
    account_id: str
    name: str
    followers: int
    daily_top_level: float  # expected top-level comments per ordinary day


@dataclass(frozen=True)
class Video:
    account: Account
    content_id: str
    title: str
    url: str
    posted_at: datetime
    topic: str


LANJI = Account("lanji", "douyin", "lanji_official", "澜肌官方旗舰店", 1_283_000, 190.0)
XIAOCHU = Account("xiaochu", "bilibili", "xiaochu_kitchen", "小厨科技官方", 356_400, 150.0)

VIDEOS = (
    Video(LANJI, "7439218830915619107", "秋冬换季屏障修护｜澜肌修护精华真实使用28天",
          "https://www.douyin.com/video/7439218830915619107", datetime(2026, 11, 17, 19, 30, tzinfo=CST),
          "serum"),
    Video(LANJI, "7439987412650230051", "干皮救星！澜肌保湿喷雾 通勤随时补水💦",
          "https://www.douyin.com/video/7439987412650230051", datetime(2026, 11, 20, 12, 0, tzinfo=CST),
          "mist"),
    Video(LANJI, "7440861157203340562", "新品首发🔥澜肌玻色因紧致面霜 今晚直播间首发价",
          "https://www.douyin.com/video/7440861157203340562", datetime(2026, 11, 22, 18, 30, tzinfo=CST),
          "cream"),
    Video(XIAOCHU, "BV1Lk4y1C7mQ", "【小厨科技】10分钟搞定一桌菜？智能炒菜机X3全流程实测",
          "https://www.bilibili.com/video/BV1Lk4y1C7mQ", datetime(2026, 11, 16, 18, 0, tzinfo=CST),
          "cooker"),
    Video(XIAOCHU, "BV1gV411q7Zs", "拆了自家的破壁机：静音到底是怎么做到的？",
          "https://www.bilibili.com/video/BV1gV411q7Zs", datetime(2026, 11, 19, 20, 0, tzinfo=CST),
          "blender"),
    Video(XIAOCHU, "BV1Fw4m1d7Ea", "空气炸锅挑战一周不开火｜打工人懒人食谱第3期",
          "https://www.bilibili.com/video/BV1Fw4m1d7Ea", datetime(2026, 11, 21, 18, 0, tzinfo=CST),
          "airfryer"),
)
CREAM_VIDEO = VIDEOS[2]

DOUYIN_EMOTES = ("[捂脸]", "[赞]", "[666]", "[比心]", "[玫瑰]", "[流泪]", "[呲牙]", "[微笑]", "[色]",
                 "[强]", "[爱心]", "[偷笑]", "[送心]", "[看]", "[鼓掌]", "[害羞]")
DOUYIN_ANGRY_EMOTES = ("[发怒]", "[流泪]", "[裂开]", "[吐]", "[白眼]", "[衰]", "[捂脸]")
BILI_EMOTES = ("[doge]", "[笑哭]", "[妙啊]", "[吃瓜]", "[tv_微笑]", "[支持]", "[打call]", "[OK]",
               "[脱单doge]", "[藏狗]", "[热词系列_知识增加]", "[星星眼]")
EMOJI = ("😂", "👍", "❤️", "😭", "🔥", "🙏", "✨", "💯", "🤔", "🥰", "😍", "🤣", "👀", "🫶")
ANGRY_EMOJI = ("😡", "😤", "🤬", "😭", "💢", "🙄")

# Colloquial spellings and typos seen in real comments ("肿么" for 怎么, "滴" for 的 ...).
TYPOS = (("怎么", "肿么"), ("什么", "神马"), ("没有", "木有"), ("这样子", "酱紫"), ("喜欢", "稀饭"),
         ("的", "滴"), ("好看", "好康"), ("觉得", "绝得"), ("是不是", "系不系"), ("在吗", "在嘛"),
         ("已经", "以经"), ("真的", "真滴"))

LANJI_PRAISE = (
    "用了一个月了，脸真的稳定了好多", "回购第三瓶了，干皮亲妈", "质地好清爽，一点都不闷", "被种草了",
    "主播皮肤好好啊", "包装好高级，送人很有面子", "敏感肌用了没问题", "价格有点小贵但是值",
    "已下单，坐等快递", "我妈用了也说好", "换季烂脸期全靠它续命", "上脸好舒服，吸收很快",
    "绝绝子，yyds", "集美们冲！", "之前一直泛红，用了两周好多了", "空瓶了，已回购",
    "狠狠爱住了", "闻着有淡淡的香味，好治愈", "上妆前用不搓泥，好评", "孕期也在用，很温和",
    "这个价格能买到这个品质真的可以", "家人们这个真的好用，不是广告", "用完第二天起来脸水水的",
)
LANJI_QUESTION = (
    "敏感肌能用吗？", "孕妇可以用吗", "和雅诗兰黛小棕瓶比哪个好？", "直播间还有优惠吗",
    "油皮用会不会搓泥", "多少钱啊", "怎么买？链接在哪", "早上用还是晚上用", "可以和A醇一起用吗",
    "保质期多久呀", "学生党有平价一点的吗", "男生能用吗", "混油皮夏天用会闷痘吗？",
    "请问有小样吗，想先试试", "这个和上一代有什么区别", "痘肌能用吗，会不会闭口", "几点开播？",
    "买一送一还有吗", "一瓶能用多久", "在吗在吗，客服怎么不回", "成分表能发一下吗",
)
LANJI_COMPLAINT = (
    "快递好慢，等了五天了", "客服回复好慢", "味道有点冲，不太喜欢", "泵头坏了按不出来",
    "用完有点搓泥", "价格比上次贵了", "赠品没收到", "包装压坏了", "说好的小样呢？没收到",
    "直播间抢不到，链接一上就没了", "退货运费谁出啊", "色号和图上不一样",
)
LANJI_CHAT = (
    "第一", "来了来了", "沙发", "哈哈哈哈哈哈", "主播好可爱", "背景音乐叫啥", "滴滴 打卡",
    "刷到就是缘分", "@闺蜜 快看这个", "蹲一个", "码住", "冲冲冲", "家人们谁懂啊", "今天也来看你啦",
    "这个滤镜好好看", "主播衣服哪里买的", "已关注", "每天都刷到你们",
)
LANJI_CREAM_LAUNCH = (
    "新品！蹲到了", "玻色因的面霜终于出了", "首发价多少？", "直播间几点？", "这个面霜适合干皮吗",
    "已加购，等开播", "包装好好看想买", "25岁用抗老会不会太早", "跟修护精华能一起用吗",
    "买了买了，首发价很香", "抢到了！", "链接挂了吗",
)

XIAOCHU_PRAISE = (
    "UP主做的菜看着就好吃", "已三连", "这期拆解硬核啊", "用了半年炒菜机，懒人福音", "静音确实做得好，晚上打豆浆不吵人",
    "恰饭恰得理直气壮，支持", "小厨的东西质量一直可以", "讲得很清楚，终于懂了为啥静音", "这个内胆设计好评",
    "爸妈用着也很顺手", "好家伙，这个火候控制可以啊", "工程师讲解太专业了", "买了一台送我妈，她天天用",
    "终于有厂家敢拆自己产品了", "良心视频，点赞", "这期封面好评", "看饿了",
)
XIAOCHU_QUESTION = (
    "能做红烧肉吗", "清洗麻烦吗", "功率多大，宿舍能用吗", "有没有APP控制", "跟美的的比怎么样",
    "售后保修几年？", "双十一价格还有吗", "内胆是什么材质的，涂层安全吗", "会不会有塑料味",
    "一次能做几人份", "菜谱在哪里下载？", "支持小爱同学吗", "炸锅几升的？一个人用够吗",
    "X3和X2差别大吗，值得换吗", "噪音具体多少分贝？", "能预约吗，早上起来就能吃那种",
)
XIAOCHU_COMPLAINT = (
    "我的X3用了两个月就报E3错误了", "客服电话打不通", "涂层掉了一块，算质量问题吗", "APP老是连不上wifi",
    "噪音没视频里说的那么小吧", "价格比618贵了", "配件太难买了", "说明书看不懂", "发货好慢",
    "固件升级以后菜谱少了",
)
XIAOCHU_CHAT = (
    "前排", "第一！", "恰饭视频，但是我看完了", "弹幕护体", "下次做个螺蛳粉", "哈哈哈哈翻车那段笑死",
    "这BGM是什么", "up主手好稳", "awsl", "好家伙", "爷青回", "dd", "已投币", "来了", "催更",
    "下期拆洗碗机吧", "up的猫好可爱", "三连了，求抽奖",
)

ACCOUNT_REPLIES = {
    "lanji": (
        "谢谢宝子支持～[比心]", "敏感肌可以放心用的，建议先耳后试用哦", "亲，直播间每晚8点开播，有专属福利哦[玫瑰]",
        "抱歉让您久等啦，麻烦私信我们订单号，马上帮您处理", "感谢喜欢！有问题随时找我们～", "早晚都可以用哦，白天记得防晒",
        "孕期使用建议先咨询医生哦", "赠品问题我们已经在核实了，请私信订单号", "爱你哟[送心]",
    ),
    "xiaochu": (
        "感谢三连！[打call]", "可以做的，APP里有红烧肉菜谱", "整机保修两年，电机五年", "内胆是食品级不锈钢+陶瓷涂层",
        "E3是温度传感器报错，麻烦私信我们序列号，安排上门检修", "下期安排！", "可以预约的，最长24小时",
        "抱歉给您带来不便，已转给售后同学跟进", "谢谢支持，我们会继续做硬核内容",
    ),
}

CRISIS_INITIATOR = (
    "用了你们这个新面霜第二天脸就红肿起痘，整张脸都烂了[流泪] 去医院诊断是接触性皮炎，"
    "联系客服只让我拍照等回复，到现在没人管，退款也不给退！！姐妹们千万别买！！"
)
CRISIS_SAME = (
    "我也是！！用了两次就过敏，脸又红又痒", "同款过敏，下巴全是小红疹", "我也烂脸了，还以为是自己的问题",
    "+1 涂完脸就刺痛，过敏了", "用了三天过敏了，现在在吃氯雷他定", "我也过敏了，眼周全肿了",
    "天呐我也是，以为是换季过敏", "敏感肌真的别碰，我烂脸到现在还是红的", "同款，脸上起了一片疹子，申请退款中",
    "昨天刚用，今天就开始痒，过敏了吓死", "我和我妈都过敏了", "烂脸了谁来负责？？",
)
CRISIS_REFUND = (
    "申请退款被拒，说已拆封不退", "已经打12315投诉了", "姐妹们一起维权吧，拉个群", "去黑猫投诉了，大家都去",
    "已截图，准备找消费者协会", "退款！退款！退款！", "客服一直机器人回复，气死", "过敏了还不给退，什么垃圾售后",
    "12315已经受理了，大家都去投诉", "维权群满了，再开一个", "这要求赔偿不过分吧", "我要投诉到市场监管局",
)
CRISIS_DEMAND = (
    "坐等官方回应，过敏的人这么多", "品牌方出来说话！", "官方装死是吧，投诉都不回", "都几十条过敏了还不下架？", "是不是成分有问题啊？激素超标？",
    "能不能公布检测报告，这么多人烂脸", "是不是这批次有问题", "直播间卖得那么火，结果这样？", "官方快出来解释",
    "出了事就删评论？我截图了", "请给所有过敏的人一个说法",
)
CRISIS_BYSTANDER = (
    "还好没买，刚想下单[捂脸]", "吓得我赶紧取消订单了", "评论区怎么这么多过敏的？？", "吃瓜，这是要翻车了吗",
    "取关了，太失望", "本来还想回购精华的，算了", "这评论区看得我害怕", "收藏了准备买的，现在不敢了",
    "从热搜过来的", "关注后续", "第一次看到评论区这么惨",
)
CRISIS_DEFENSE = (
    "我用了没事啊，是不是个人体质问题", "别带节奏了，谁知道是不是黑子", "楼主能发下购买记录吗",
    "过敏体质本来就应该先试用吧", "感觉有水军", "我用了一周了挺好的，理性讨论",
)
CRISIS_ACCOUNT_CANNED = "亲亲非常抱歉给您带来不好的体验，麻烦私信我们订单号哦～[玫瑰]"
CRISIS_ACCOUNT_LATER = "我们已暂停该批次面霜销售并成立专项小组，正在逐一联系反馈过敏的用户，检测结果出来第一时间公布。"
CRISIS_AFTER_CANNED = (
    "又是私信，能不能正面回应", "官方复制粘贴的回复，呵呵", "私信了，没人回", "这回复跟机器人一样",
    "私信个头，公开说明！", "每个人都让私信，是怕大家看到吗",
)
CRISIS_SPILLOVER = (
    "面霜那个视频评论区炸了，这个精华还敢用吗", "听说新面霜烂脸？精华是同一个工厂吗", "从面霜视频过来的，你们回应一下",
    "别只删评论，出来说话", "精华我也用着，现在有点慌",
)

NAME_HEADS = ("小", "阿", "大", "是", "一只", "爱吃", "不吃", "会飞的", "努力的", "快乐", "佛系", "暴躁",
              "温柔", "干饭", "熬夜", "早睡", "迷糊", "元气", "社恐", "摸鱼")
NAME_TAILS = ("鱼", "鹿", "橙子", "桃桃", "团子", "猫", "兔", "芋圆", "奶茶", "布丁", "咸鱼", "打工人",
              "小怪兽", "柠檬", "月亮", "星星", "土豆", "饭团", "可乐", "豆包", "麻薯", "阿May", "Lisa", "Kiki")
NAME_SUFFIX = ("", "", "", "呀", "吖", "酱", "子", "🐟", "🌙", "_", "233", "0520", "ovo", "er")


class _Ids:
    """Unique, platform-shaped comment ids (Douyin: 19 digits; Bilibili rpid: 12 digits)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def comment_id(self, platform: str) -> str:
        while True:
            if platform == "douyin":
                cid = "74" + "".join(self.rng.choice("0123456789") for _ in range(17))
            else:
                cid = str(self.rng.randint(200_000_000_000, 299_999_999_999))
            if cid not in self.used:
                self.used.add(cid)
                return cid


@dataclass
class _Author:
    author_id: str
    name: str
    followers: int


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ids = _Ids(self.rng)
        self.records: list[dict] = []
        self.authors: dict[str, list[_Author]] = {LANJI.account_id: [], XIAOCHU.account_id: []}
        for account, count in ((LANJI, 1400), (XIAOCHU, 1100)):
            used_ids: set[str] = set()
            for _ in range(count):
                self.authors[account.account_id].append(self._new_author(account, used_ids))

    # -- authors -------------------------------------------------------------------------------
    def _new_author(self, account: Account, used_ids: set[str]) -> _Author:
        rng = self.rng
        while True:
            if account.platform == "douyin":
                alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                author_id = "MS4wLjABAAAA" + "".join(rng.choice(alphabet) for _ in range(24))
            else:
                author_id = str(rng.randint(10_000_000, 3_999_999_999))
            if author_id not in used_ids:
                used_ids.add(author_id)
                break
        roll = rng.random()
        if roll < 0.25:
            name = ("用户" if account.platform == "douyin" else "bili_") + str(rng.randint(1_000_000, 99_999_999))
        else:
            name = rng.choice(NAME_HEADS) + rng.choice(NAME_TAILS) + rng.choice(NAME_SUFFIX)
        # Most commenters have a handful of followers; a few are mid-size creators.
        followers = int(math.exp(rng.gauss(3.2, 1.9)))
        if rng.random() < 0.01:
            followers = rng.randint(50_000, 400_000)
        return _Author(author_id, name, max(0, followers))

    def _pick_author(self, account: Account) -> _Author:
        pool = self.authors[account.account_id]
        # Skewed choice: regulars comment often, most people once.
        index = int(len(pool) * (self.rng.random() ** 2.2))
        return pool[min(index, len(pool) - 1)]

    # -- text -------------------------------------------------------------------------------------
    def _decorate(self, text: str, platform: str, angry: bool = False) -> str:
        rng = self.rng
        if rng.random() < 0.07:
            old, new = rng.choice(TYPOS)
            text = text.replace(old, new, 1)
        if rng.random() < 0.12:
            text = rng.choice(("姐妹们", "家人们", "哈哈哈", "啊啊啊", "救命", "说真的", "求问", "真的")) + (
                "，" if rng.random() < 0.6 else " ") + text
        if angry:
            if rng.random() < 0.45:
                text += rng.choice(("！！", "！！！", "??", "？？？", "!!!"))
            if rng.random() < 0.45:
                text += rng.choice(DOUYIN_ANGRY_EMOTES if platform == "douyin" else ("[吃瓜]", "[笑哭]", "[无语]"))
            if rng.random() < 0.2:
                text += rng.choice(ANGRY_EMOJI)
            return text
        if rng.random() < 0.45:
            emotes = DOUYIN_EMOTES if platform == "douyin" else BILI_EMOTES
            text += rng.choice(emotes) * (1 if rng.random() < 0.75 else rng.randint(2, 3))
        if rng.random() < 0.22:
            text += rng.choice(EMOJI) * rng.randint(1, 3)
        return text

    def _ordinary_text(self, account: Account, video: Video) -> tuple[str, str]:
        rng = self.rng
        if account is LANJI:
            if video.topic == "cream" and rng.random() < 0.55:
                return "launch", rng.choice(LANJI_CREAM_LAUNCH)
            pools = (("praise", LANJI_PRAISE, 0.34), ("question", LANJI_QUESTION, 0.30),
                     ("complaint", LANJI_COMPLAINT, 0.10), ("chat", LANJI_CHAT, 0.26))
        else:
            pools = (("praise", XIAOCHU_PRAISE, 0.36), ("question", XIAOCHU_QUESTION, 0.28),
                     ("complaint", XIAOCHU_COMPLAINT, 0.09), ("chat", XIAOCHU_CHAT, 0.27))
        roll = rng.random()
        for kind, pool, weight in pools:
            if roll < weight:
                return kind, rng.choice(pool)
            roll -= weight
        return pools[-1][0], rng.choice(pools[-1][1])

    # -- records ---------------------------------------------------------------------------------
    def _add(self, video: Video, when: datetime, text: str, *, author: _Author | None, parent: dict | None,
             likes: int, from_account: bool = False) -> dict:
        account = video.account
        if from_account:
            author_id, author_name, followers = account.account_id, account.name, account.followers
        else:
            assert author is not None
            author_id, author_name, followers = author.author_id, author.name, author.followers
        record = {
            "platform": account.platform,
            "account_id": account.account_id,
            "content_id": video.content_id,
            "comment_id": self.ids.comment_id(account.platform),
            "text": text,
            "created_at": when.isoformat(timespec="seconds"),
            "parent_id": parent["comment_id"] if parent else None,
            "author_id": author_id,
            "author_name": author_name,
            "author_followers": followers,
            "like_count": max(0, likes),
            "reply_count": 0,
            "content_title": video.title,
            "content_url": video.url,
            "is_from_account": from_account,
        }
        self.records.append(record)
        return record

    def _ordinary_likes(self) -> int:
        likes = int(math.exp(self.rng.gauss(1.0, 1.5))) - 1
        if self.rng.random() < 0.01:
            likes += self.rng.randint(200, 900)
        return likes

    def _pick_video(self, account: Account, when: datetime) -> Video | None:
        candidates = [v for v in VIDEOS if v.account is account and v.posted_at <= when]
        if not candidates:
            return None
        weights = [1.0 / (1.0 + (when - v.posted_at).total_seconds() / 86400.0) ** 1.3 for v in candidates]
        return self.rng.choices(candidates, weights=weights)[0]

    def _poisson(self, mean: float) -> int:
        # Knuth's method; fine for the small means used here.
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def _random_time_in(self, start: datetime, seconds: int) -> datetime:
        return start + timedelta(seconds=self.rng.randrange(seconds))

    @staticmethod
    def _quiet_hour(when: datetime) -> bool:
        return 1 <= when.hour < 7

    def _thread_replies(self, video: Video, root: dict, root_when: datetime, kind: str) -> None:
        """User replies under a top-level comment, and sometimes an answer by the account."""
        rng = self.rng
        account = video.account
        count = 0
        roll = rng.random()
        if roll < 0.12:
            count = 1
        elif roll < 0.17:
            count = rng.randint(2, 5)
        for _ in range(count):
            when = root_when + timedelta(minutes=rng.expovariate(1 / 35.0))
            if when > FEED_END or (self._quiet_hour(when) and rng.random() < 0.7):
                continue
            text = rng.choice(("同问", "+1", "我也想知道", "哈哈哈哈真的", "确实", "我也是这样", "楼上说得对",
                               "同感", "真的假的", "蹲一个答案", "一样一样", "不至于吧"))
            text = self._decorate(text, account.platform)
            if account.platform == "bilibili" and rng.random() < 0.4:
                text = f"回复 @{root['author_name']} :{text}"
            self._add(video, when, text, author=self._pick_author(account), parent=root,
                      likes=max(0, self._ordinary_likes() // 2))
        answer_chance = {"question": 0.45, "complaint": 0.5, "praise": 0.18, "launch": 0.25}.get(kind, 0.05)
        if rng.random() < answer_chance:
            delay = timedelta(minutes=rng.expovariate(1 / 50.0) + 2)
            when = root_when + delay
            # The social team works 9:00-23:30; overnight comments are answered next morning.
            if when.hour < 9:
                when = when.replace(hour=9, minute=rng.randrange(60), second=rng.randrange(60))
            if when <= FEED_END:
                text = rng.choice(ACCOUNT_REPLIES[account.client])
                reply = self._add(video, when, text, author=None, parent=root,
                                  likes=rng.randint(0, 30), from_account=True)
                # Now and then the commenter answers back to the account.
                if rng.random() < 0.25:
                    back = when + timedelta(minutes=rng.expovariate(1 / 20.0) + 1)
                    if back <= FEED_END:
                        follow = rng.choice(("好的谢谢", "已私信", "收到～", "私信了怎么没人回", "还是没解决啊",
                                             "好的，那我再等等"))
                        if account.platform == "bilibili":
                            follow = f"回复 @{account.name} :{follow}"
                        else:
                            follow = f"@{account.name} {follow}"
                        author = next(a for a in self.authors[account.account_id]
                                      if a.author_id == root["author_id"]) if not root["is_from_account"] else None
                        if author is not None:
                            self._add(video, back, follow, author=author, parent=root, likes=rng.randint(0, 5))
                _ = reply

    def ordinary_days(self) -> None:
        rng = self.rng
        day = FEED_START
        while day <= FEED_END:
            for account in (LANJI, XIAOCHU):
                # Weekends (Nov 21-22) are a bit busier.
                day_factor = 1.15 if day.weekday() >= 5 else 1.0
                total_weight = sum(HOUR_WEIGHTS)
                for hour in range(24):
                    mean = account.daily_top_level * day_factor * HOUR_WEIGHTS[hour] / total_weight
                    for _ in range(self._poisson(mean)):
                        when = self._random_time_in(day + timedelta(hours=hour), 3600)
                        video = self._pick_video(account, when)
                        if video is None:
                            continue
                        kind, text = self._ordinary_text(account, video)
                        if rng.random() < 0.004:
                            text = ""  # sticker-only comment: the platform exports no text
                        else:
                            text = self._decorate(text, account.platform)
                        root = self._add(video, when, text, author=self._pick_author(account), parent=None,
                                         likes=self._ordinary_likes())
                        self._thread_replies(video, root, when, kind)
            day += timedelta(days=1)

    def pinned_posts(self) -> None:
        """Each video gets one top-level comment by the account shortly after posting (in the window)."""
        texts = {
            "serum": "28天打卡记录都在这里啦，有问题评论区问我们～",
            "mist": "通勤党必备！今晚直播间买一送一[比心]",
            "cream": "新品玻色因紧致面霜今晚8点直播间首发，前1000名送同款小样！",
            "cooker": "视频里的菜谱都已上传APP，搜「十分钟一桌菜」就能找到",
            "blender": "拆解的工程师小哥下期还来，想看拆什么评论区告诉我们",
            "airfryer": "懒人食谱第4期征集中，点赞最高的菜我们来做",
        }
        for video in VIDEOS:
            when = max(video.posted_at + timedelta(minutes=3), FEED_START + timedelta(hours=10))
            if video.posted_at >= FEED_START:
                when = video.posted_at + timedelta(minutes=3)
            self._add(video, when, texts[video.topic], author=None, parent=None,
                      likes=self.rng.randint(20, 400), from_account=True)

    def crisis(self) -> None:
        """The snowballing face-cream complaint on 2026-11-22 evening, and its tail into the next day."""
        rng = self.rng
        video = CREAM_VIDEO
        initiator_author = _Author("MS4wLjABAAAAq8Zf3kLmN0pQrS7tUvWxYz12", "是小鱼呀🐟", 23_481)
        initiator = self._add(video, CRISIS_START, CRISIS_INITIATOR, author=initiator_author, parent=None,
                              likes=8642)
        hot_roots = [initiator]
        pools = ((CRISIS_SAME, 0.34), (CRISIS_REFUND, 0.27), (CRISIS_DEMAND, 0.16), (CRISIS_BYSTANDER, 0.15),
                 (CRISIS_DEFENSE, 0.08))
        canned_at = datetime(2026, 11, 22, 20, 41, 37, tzinfo=CST)
        later_at = datetime(2026, 11, 22, 22, 34, 5, tzinfo=CST)
        self._add(video, canned_at, CRISIS_ACCOUNT_CANNED, author=None, parent=initiator, likes=12,
                  from_account=True)
        self._add(video, later_at, CRISIS_ACCOUNT_LATER, author=None, parent=initiator, likes=356,
                  from_account=True)
        # A beauty creator with a large following joins at 20:27 and amplifies it.
        creator = _Author("MS4wLjABAAAAbeautyKOLx9Yw3Vt6Rr2Qp8Nn", "美妆测评师Luna", 268_000)
        creator_post = self._add(
            video, datetime(2026, 11, 22, 20, 27, 48, tzinfo=CST),
            "后台收到好多粉丝私信说用这款面霜过敏，我这边已经在整理案例，建议大家先停用，保留购买凭证和就医记录，"
            "该退款退款，该投诉12315就投诉。", author=creator, parent=None, likes=5210)
        hot_roots.append(creator_post)

        def crisis_comment(when: datetime, intensity: float) -> None:
            roll = rng.random()
            if when > canned_at and roll < 0.08:
                text = rng.choice(CRISIS_AFTER_CANNED)
                kind = "demand"
            else:
                roll = rng.random()
                text, kind = CRISIS_SAME[0], "same"
                for (pool, weight), name in zip(pools, ("same", "refund", "demand", "bystander", "defense"),
                                                strict=True):
                    if roll < weight:
                        text, kind = rng.choice(pool), name
                        break
                    roll -= weight
            angry = kind != "defense"
            text = self._decorate(text, "douyin", angry=angry)
            author = self._pick_author(LANJI) if rng.random() < 0.5 else self._new_author(LANJI, set())
            as_reply = rng.random() < 0.42
            if as_reply:
                open_roots = [r for r in hot_roots if r["created_at"] <= when.isoformat(timespec="seconds")]
                parent = open_roots[0] if rng.random() < 0.55 else rng.choice(open_roots)
                likes = int(math.exp(rng.gauss(2.5 + intensity, 1.3)))
                self._add(video, when, text, author=author, parent=parent, likes=likes)
            else:
                likes = int(math.exp(rng.gauss(3.2 + 1.6 * intensity, 1.4)))
                record = self._add(video, when, text, author=author, parent=None, likes=likes)
                if kind in ("same", "refund") and likes > 300 and len(hot_roots) < 14:
                    hot_roots.append(record)

        # The snowball: a trickle at first, doubling about every ten minutes up to ~7 a minute by 20:50.
        minute = CRISIS_START.replace(second=0) + timedelta(minutes=1)
        while minute < CRISIS_PEAK_END:
            elapsed = (minute - CRISIS_START).total_seconds() / 60.0
            rate = min(7.0, 0.3 * math.exp(elapsed / 14.0))
            for _ in range(self._poisson(rate)):
                crisis_comment(self._random_time_in(minute, 60), intensity=min(1.0, elapsed / 40.0))
            minute += timedelta(minutes=1)
        # The tail: slowing but still negative until midnight, then a residue the next day.
        while minute < datetime(2026, 11, 23, 0, 0, tzinfo=CST):
            elapsed = (minute - CRISIS_PEAK_END).total_seconds() / 60.0
            rate = 3.0 * math.exp(-elapsed / 45.0) + 0.15
            for _ in range(self._poisson(rate)):
                crisis_comment(self._random_time_in(minute, 60), intensity=0.4)
            minute += timedelta(minutes=1)
        next_day = datetime(2026, 11, 23, 0, 0, tzinfo=CST)
        for hour in range(24):
            for _ in range(self._poisson(HOUR_WEIGHTS[hour] * 2.2)):
                crisis_comment(self._random_time_in(next_day + timedelta(hours=hour), 3600), intensity=0.1)
        # Spill-over onto the account's other videos.
        for _ in range(18):
            when = CRISIS_START + timedelta(minutes=rng.uniform(25, 200))
            other = rng.choice(VIDEOS[:2])
            self._add(other, when, self._decorate(rng.choice(CRISIS_SPILLOVER), "douyin", angry=True),
                      author=self._pick_author(LANJI), parent=None, likes=int(math.exp(rng.gauss(3.0, 1.2))))

    def finish(self) -> list[dict]:
        replies: dict[str, int] = {}
        for record in self.records:
            if record["parent_id"]:
                replies[record["parent_id"]] = replies.get(record["parent_id"], 0) + 1
        for record in self.records:
            record["reply_count"] = replies.get(record["comment_id"], 0)
        self.records.sort(key=lambda r: (r["created_at"], r["comment_id"]))
        return [{name: record[name] for name in FIELDS} for record in self.records]


def build_feed(seed: int = SEED) -> list[dict]:
    """Return the sample feed as a list of records, sorted by created_at (deterministic for a seed)."""
    generator = _Generator(seed)
    generator.pinned_posts()
    generator.ordinary_days()
    generator.crisis()
    return generator.finish()


def render(records: list[dict]) -> str:
    """The JSONL text for records (UTF-8, one record per line, Chinese kept readable)."""
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", action="store_true", help="exit 1 if the output file is not up to date")
    args = parser.parse_args(argv)
    text = render(build_feed(args.seed))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run scripts/make_sample_feed.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} comments to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
